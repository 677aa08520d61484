"""Dict-backed unit of work and repositories with the same tenant isolation as row-level security.

Each transaction works on a copy of the committed state and replaces it on commit, so leaving a
block without committing loses its writes, as a database rollback would. Rows of other tenants are
invisible to reads, and writing one raises `StorageError`, as PostgreSQL's policies do.
"""

import uuid
from collections.abc import AsyncGenerator, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta

import attrs

from application.errors import StorageError
from application.ports.repositories import (
    AuditLog,
    ExemptionRepository,
    GroupRepository,
    JoinRequestRepository,
    KnownMemberRepository,
    RestrictionRepository,
    ScheduledActionRepository,
)
from application.ports.unit_of_work import (
    DirectoryStatistics,
    TenantDirectory,
    Transaction,
    UnitOfWork,
)
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.join_request import PendingJoinRequest
from domain.policy import GroupPolicy
from domain.raid import Raid
from domain.restriction import Restriction
from domain.schedule import ActionKind, ScheduledAction


@attrs.define
class _State:
    """Everything the database would hold, keyed as the tables are."""

    policies: dict[GroupId, GroupPolicy] = attrs.Factory(dict[GroupId, GroupPolicy])
    restrictions: dict[tuple[GroupId, UserId], Restriction] = attrs.Factory(
        dict[tuple[GroupId, UserId], Restriction]
    )
    exemptions: dict[tuple[GroupId, UserId], None] = attrs.Factory(
        dict[tuple[GroupId, UserId], None]
    )
    audit: list[AuditEvent] = attrs.Factory(list[AuditEvent])
    actions: dict[uuid.UUID, ScheduledAction] = attrs.Factory(dict[uuid.UUID, ScheduledAction])
    join_requests: dict[tuple[GroupId, UserId], PendingJoinRequest] = attrs.Factory(
        dict[tuple[GroupId, UserId], PendingJoinRequest]
    )
    members: dict[tuple[GroupId, UserId], str | None] = attrs.Factory(
        dict[tuple[GroupId, UserId], str | None]
    )
    """Members seen, with their lower-cased username."""
    log_cursors: dict[GroupId, int] = attrs.Factory(dict[GroupId, int])
    mute_claims: dict[tuple[GroupId, UserId], datetime] = attrs.Factory(
        dict[tuple[GroupId, UserId], datetime]
    )
    """When each member's last mute began (one process: every claim's process runs)."""

    def copy(self) -> "_State":
        # Values are frozen; copying the containers is a full snapshot.
        return _State(
            dict(self.policies),
            dict(self.restrictions),
            dict(self.exemptions),
            list(self.audit),
            dict(self.actions),
            dict(self.join_requests),
            dict(self.members),
            dict(self.log_cursors),
            dict(self.mute_claims),
        )


@attrs.define
class _Scope:
    """A transaction's view: its tenant and its working copy."""

    tenant: GroupId
    state: _State

    def visible(self, group_id: GroupId) -> bool:
        return group_id == self.tenant

    def writable(self, group_id: GroupId) -> None:
        if group_id != self.tenant:
            msg = f"row of tenant {group_id} written in the scope of tenant {self.tenant}"
            raise StorageError(msg)


@attrs.define
class InMemoryGroupRepository(GroupRepository):
    """Group policies in a dict."""

    _scope: _Scope

    async def get(self, group_id: GroupId) -> GroupPolicy | None:
        return self._scope.state.policies.get(group_id) if self._scope.visible(group_id) else None

    async def save(self, policy: GroupPolicy) -> None:
        self._scope.writable(policy.group_id)
        stored = self._scope.state.policies.get(policy.group_id)
        kept = stored.raid if stored is not None else None  # the raid is saved on its own
        self._scope.state.policies[policy.group_id] = attrs.evolve(policy, raid=kept)

    async def raid_locked(self, group_id: GroupId) -> Raid | None:
        policy = await self.get(group_id)
        return policy.raid if policy is not None else None

    async def save_raid(self, group_id: GroupId, raid: Raid | None) -> None:
        self._scope.writable(group_id)
        stored = self._scope.state.policies.get(group_id)
        if stored is None:
            msg = f"group {group_id} was never set up"
            raise StorageError(msg)
        self._scope.state.policies[group_id] = attrs.evolve(stored, raid=raid)

    async def log_cursor(self, group_id: GroupId) -> int:
        return (
            self._scope.state.log_cursors.get(group_id, 0) if self._scope.visible(group_id) else 0
        )

    async def set_log_cursor(self, group_id: GroupId, cursor: int) -> None:
        self._scope.writable(group_id)
        if group_id in self._scope.state.policies:  # as an UPDATE of the group's row
            self._scope.state.log_cursors[group_id] = cursor


@attrs.define
class InMemoryRestrictionRepository(RestrictionRepository):
    """Restrictions the bot applied, in a dict."""

    _scope: _Scope

    async def get(self, group_id: GroupId, user_id: UserId) -> Restriction | None:
        if not self._scope.visible(group_id):
            return None
        return self._scope.state.restrictions.get((group_id, user_id))

    async def get_locked(self, group_id: GroupId, user_id: UserId) -> Restriction | None:
        # A memory transaction never waits on anything, so none interleaves with another.
        return await self.get(group_id, user_id)

    async def save(self, restriction: Restriction) -> None:
        self._scope.writable(restriction.group_id)
        self._scope.state.restrictions[(restriction.group_id, restriction.user_id)] = restriction

    async def delete(self, group_id: GroupId, user_id: UserId) -> bool:
        if not self._scope.visible(group_id):
            return False
        return self._scope.state.restrictions.pop((group_id, user_id), None) is not None

    async def all(self, group_id: GroupId) -> tuple[Restriction, ...]:
        if not self._scope.visible(group_id):
            return ()
        found = (r for r in self._scope.state.restrictions.values() if r.group_id == group_id)
        return tuple(sorted(found, key=lambda r: (r.since, r.user_id)))

    async def all_locked(self, group_id: GroupId) -> tuple[Restriction, ...]:
        return await self.all(group_id)

    async def warned_by(self, group_id: GroupId, message_id: MessageId) -> tuple[UserId, ...]:
        return tuple(
            r.user_id for r in await self.all(group_id) if r.warning_message_id == message_id
        )

    async def claim_mute(
        self, group_id: GroupId, user_id: UserId, at: datetime, settle: timedelta
    ) -> bool:
        self._scope.writable(group_id)
        claims = self._scope.state.mute_claims
        last = claims.get((group_id, user_id))
        if last is not None and last > at - settle:
            return False
        spent = [k for k, claimed in claims.items() if k[0] == group_id and claimed <= at - settle]
        for key in spent:  # as in PostgreSQL: claims whose settle time is over hold nobody
            del claims[key]
        claims[(group_id, user_id)] = at
        return True


@attrs.define
class InMemoryExemptionRepository(ExemptionRepository):
    """Exempt users in a dict."""

    _scope: _Scope

    async def all(self, group_id: GroupId) -> frozenset[UserId]:
        if not self._scope.visible(group_id):
            return frozenset()
        return frozenset(u for (g, u) in self._scope.state.exemptions if g == group_id)

    async def add(self, group_id: GroupId, user_id: UserId) -> bool:
        self._scope.writable(group_id)
        if (group_id, user_id) in self._scope.state.exemptions:
            return False
        self._scope.state.exemptions[(group_id, user_id)] = None
        return True

    async def remove(self, group_id: GroupId, user_id: UserId) -> bool:
        if not self._scope.visible(group_id):
            return False
        return (group_id, user_id) in self._scope.state.exemptions and (
            self._scope.state.exemptions.pop((group_id, user_id)) is None
        )


@attrs.define
class InMemoryKnownMemberRepository(KnownMemberRepository):
    """Usernames seen in the group, in a dict."""

    _scope: _Scope

    async def remember(self, group_id: GroupId, user_id: UserId, username: str | None) -> None:
        self._scope.writable(group_id)
        members = self._scope.state.members
        name = username.lower() if username else None
        for key, known in list(members.items()):
            if name is not None and key[0] == group_id and key[1] != user_id and known == name:
                members[key] = None  # usernames move between accounts
        members[(group_id, user_id)] = name

    async def find(self, group_id: GroupId, username: str) -> UserId | None:
        if not self._scope.visible(group_id):
            return None
        name = username.lower()
        members = self._scope.state.members
        return next((u for (g, u), n in members.items() if g == group_id and n == name), None)


@attrs.define
class InMemoryAuditLog(AuditLog):
    """The audit trail in a list."""

    _scope: _Scope

    async def record(self, event: AuditEvent) -> None:
        self._scope.writable(event.group_id)
        self._scope.state.audit.append(event)

    async def recent(self, group_id: GroupId, limit: int) -> tuple[AuditEvent, ...]:
        if not self._scope.visible(group_id):
            return ()
        mine = [e for e in self._scope.state.audit if e.group_id == group_id]
        return tuple(reversed(mine[-limit:])) if limit > 0 else ()

    async def count(self, group_id: GroupId, kind: AuditKind, since: datetime) -> int:
        if not self._scope.visible(group_id):
            return 0
        events = self._scope.state.audit
        return sum(
            1 for e in events if e.group_id == group_id and e.kind is kind and e.at >= since
        )

    def _numbered(self, group_id: GroupId) -> list[tuple[int, AuditEvent]]:
        # An event's id is its place in the whole trail, as the table's identity column.
        if not self._scope.visible(group_id):
            return []
        audit = self._scope.state.audit
        return [(n, e) for n, e in enumerate(audit, start=1) if e.group_id == group_id]

    async def after(
        self, group_id: GroupId, cursor: int, limit: int
    ) -> tuple[tuple[int, AuditEvent], ...]:
        return tuple((n, e) for n, e in self._numbered(group_id) if n > cursor)[: max(limit, 0)]

    async def last_id(self, group_id: GroupId) -> int:
        numbered = self._numbered(group_id)
        return numbered[-1][0] if numbered else 0


@attrs.define
class InMemoryScheduledActionRepository(ScheduledActionRepository):
    """Scheduled actions in a dict."""

    _scope: _Scope

    def _mine(self, group_id: GroupId) -> list[ScheduledAction]:
        if not self._scope.visible(group_id):
            return []
        found = (a for a in self._scope.state.actions.values() if a.group_id == group_id)
        return sorted(found, key=lambda a: (a.due_at, str(a.action_id)))

    async def add(self, action: ScheduledAction) -> None:
        self._scope.writable(action.group_id)
        self._scope.state.actions[action.action_id] = action

    async def claim_due(
        self,
        group_id: GroupId,
        now: datetime,
        lease: timedelta,
        limit: int,
        kinds: Collection[ActionKind] | None = None,
    ) -> tuple[ScheduledAction, ...]:
        wanted = [a for a in self._mine(group_id) if kinds is None or a.kind in kinds]
        due = [a for a in wanted if a.due_at <= now][:limit]
        for action in due:
            self._scope.state.actions[action.action_id] = attrs.evolve(action, due_at=now + lease)
        return tuple(due)

    async def complete(self, group_id: GroupId, action_id: uuid.UUID) -> None:
        action = self._scope.state.actions.get(action_id)
        if action is not None and action.group_id == group_id and self._scope.visible(group_id):
            del self._scope.state.actions[action_id]

    async def reschedule(self, action: ScheduledAction) -> None:
        self._scope.writable(action.group_id)
        if action.action_id in self._scope.state.actions:
            self._scope.state.actions[action.action_id] = action

    async def cancel(self, group_id: GroupId, kind: ActionKind, user_id: UserId) -> int:
        doomed = [a for a in self._mine(group_id) if a.kind is kind and a.user_id == user_id]
        for action in doomed:
            del self._scope.state.actions[action.action_id]
        return len(doomed)

    async def pending(self, group_id: GroupId) -> tuple[ScheduledAction, ...]:
        return tuple(self._mine(group_id))


@attrs.define
class InMemoryJoinRequestRepository(JoinRequestRepository):
    """Pending join requests in a dict."""

    _scope: _Scope

    async def get(self, group_id: GroupId, user_id: UserId) -> PendingJoinRequest | None:
        if not self._scope.visible(group_id):
            return None
        return self._scope.state.join_requests.get((group_id, user_id))

    async def save(self, request: PendingJoinRequest) -> None:
        self._scope.writable(request.group_id)
        self._scope.state.join_requests[(request.group_id, request.user_id)] = request

    async def delete(self, group_id: GroupId, user_id: UserId) -> bool:
        if not self._scope.visible(group_id):
            return False
        return self._scope.state.join_requests.pop((group_id, user_id), None) is not None


@attrs.define
class InMemoryTransaction(Transaction):
    """One transaction over a working copy of the unit of work's state."""

    _owner: "InMemoryUnitOfWork"
    _scope: _Scope
    groups: GroupRepository = attrs.field(init=False)
    restrictions: RestrictionRepository = attrs.field(init=False)
    exemptions: ExemptionRepository = attrs.field(init=False)
    audit: AuditLog = attrs.field(init=False)
    actions: ScheduledActionRepository = attrs.field(init=False)
    join_requests: JoinRequestRepository = attrs.field(init=False)
    members: KnownMemberRepository = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.members = InMemoryKnownMemberRepository(self._scope)
        self.groups = InMemoryGroupRepository(self._scope)
        self.restrictions = InMemoryRestrictionRepository(self._scope)
        self.exemptions = InMemoryExemptionRepository(self._scope)
        self.audit = InMemoryAuditLog(self._scope)
        self.actions = InMemoryScheduledActionRepository(self._scope)
        self.join_requests = InMemoryJoinRequestRepository(self._scope)

    async def commit(self) -> None:
        self._owner.state = self._scope.state
        self._owner.commits += 1
        self._scope.state = self._scope.state.copy()


@attrs.define
class InMemoryUnitOfWork(UnitOfWork):
    """The memory twin of the PostgreSQL unit of work.

    `transactions` counts the transactions begun and `commits` those committed.
    """

    state: _State = attrs.Factory(_State)
    transactions: int = 0
    commits: int = 0

    @asynccontextmanager
    async def _transaction(self, tenant: GroupId) -> AsyncGenerator[Transaction]:
        self.transactions += 1
        yield InMemoryTransaction(self, _Scope(tenant, self.state.copy()))

    def begin(self, tenant: GroupId) -> AbstractAsyncContextManager[Transaction]:
        return self._transaction(tenant)


@attrs.define
class InMemoryTenantDirectory(TenantDirectory):
    """Answers the cross-tenant questions from the unit of work's committed state."""

    uow: InMemoryUnitOfWork

    async def groups_requiring(self, channel_id: ChannelId) -> tuple[GroupId, ...]:
        return tuple(
            sorted(
                group_id
                for group_id, policy in self.uow.state.policies.items()
                if policy.is_protected and channel_id in policy.channel_ids
            )
        )

    async def groups_to_free(self, channel_id: ChannelId, user_id: UserId) -> tuple[GroupId, ...]:
        state = self.uow.state
        held = {g for (g, u) in state.restrictions if u == user_id}
        held |= {g for (g, u) in state.join_requests if u == user_id}
        return tuple(g for g in await self.groups_requiring(channel_id) if g in held)

    async def groups_with_due_actions(
        self, now: datetime, kinds: frozenset[ActionKind]
    ) -> tuple[GroupId, ...]:
        return tuple(
            sorted(
                {
                    a.group_id
                    for a in self.uow.state.actions.values()
                    if a.due_at <= now and a.kind in kinds
                }
            )
        )

    async def groups_seen_with(self, user_id: UserId) -> tuple[GroupId, ...]:
        return tuple(sorted({g for (g, u) in self.uow.state.members if u == user_id}))

    async def groups_with_unposted_log(self) -> tuple[GroupId, ...]:
        state = self.uow.state
        last: dict[GroupId, int] = {}
        for n, event in enumerate(state.audit, start=1):
            last[event.group_id] = n
        return tuple(
            sorted(
                group_id
                for group_id, policy in state.policies.items()
                if policy.log_channel is not None
                and last.get(group_id, 0) > state.log_cursors.get(group_id, 0)
            )
        )

    async def groups_muting(self, user_id: UserId) -> tuple[GroupId, ...]:
        policies = self.uow.state.policies
        return tuple(
            sorted(
                group_id
                for group_id, member in self.uow.state.restrictions
                if member == user_id and group_id in policies and policies[group_id].enabled
            )
        )

    async def statistics(self) -> DirectoryStatistics:
        state = self.uow.state
        due = [action.due_at for action in state.actions.values()]
        return DirectoryStatistics(
            protected_groups=sum(1 for p in state.policies.values() if p.is_protected),
            muted_members=len(state.restrictions),
            pending_actions=len(state.actions),
            oldest_due_at=min(due, default=None),
        )
