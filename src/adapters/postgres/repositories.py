"""The repositories over PostgreSQL: SQLAlchemy Core statements, rows mapped by hand.

Each repository works through its transaction's `TenantConnection`; row-level security keeps
every statement inside the transaction's tenant, whatever group id a caller passes.
"""

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Interval,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from adapters.postgres import tables as t
from adapters.postgres.connection import TenantConnection
from adapters.postgres.mapping import (
    action_from_row,
    action_values,
    channel_values,
    event_from_row,
    event_values,
    group_values,
    join_request_from_row,
    join_request_values,
    policy_from_rows,
    raid_from_row,
    raid_values,
    restriction_from_row,
    restriction_values,
)
from application.errors import StorageConflict, StorageError
from application.ports.repositories import (
    AuditLog,
    ExemptionRepository,
    GroupRepository,
    JoinRequestRepository,
    KnownMemberRepository,
    RestrictionRepository,
    ScheduledActionRepository,
)
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, MessageId, UserId
from domain.join_request import PendingJoinRequest
from domain.policy import GroupPolicy, RequiredChannel
from domain.raid import Raid
from domain.restriction import Restriction
from domain.schedule import ActionKind, ScheduledAction

_POLICY_ROWS = select(
    t.groups,
    t.required_channels.c.channel_id.label("channel_id"),
    t.required_channels.c.title.label("channel_title"),
    t.required_channels.c.username.label("channel_username"),
    t.required_channels.c.invite_link.label("channel_invite_link"),
).select_from(
    t.groups.outerjoin(
        t.required_channels, t.required_channels.c.tenant_id == t.groups.c.tenant_id
    )
)
"""A group's row once per required channel (once with null channel columns when it has none)."""


class PostgresGroupRepository(GroupRepository):
    """Group policies in `groups` and `required_channels`.

    Saves are optimistic: the repository remembers the `version` of each policy it loaded, and a
    save of a policy that another transaction changed (or created) in the meantime raises
    `StorageConflict` instead of silently overwriting it. A save without a prior `get` replaces the
    stored policy.
    """

    def __init__(self, session: TenantConnection) -> None:
        self._session = session
        self._versions: dict[GroupId, int | None] = {}
        self._stored_channels: dict[GroupId, tuple[RequiredChannel, ...]] = {}

    async def get(self, group_id: GroupId) -> GroupPolicy | None:
        rows = (
            (
                await self._session.execute(
                    _POLICY_ROWS.where(t.groups.c.tenant_id == group_id).order_by(
                        t.required_channels.c.position
                    )
                )
            )
            .mappings()
            .all()
        )
        if not rows:
            self._versions[group_id] = None
            self._stored_channels[group_id] = ()
            return None
        policy = policy_from_rows(rows)
        self._versions[group_id] = int(rows[0]["version"])
        self._stored_channels[group_id] = policy.channels
        return policy

    async def save(self, policy: GroupPolicy) -> None:
        group_id = policy.group_id
        values = group_values(policy)
        if group_id not in self._versions:
            upsert = pg_insert(t.groups).values(values)
            statement = upsert.on_conflict_do_update(
                index_elements=[t.groups.c.tenant_id],
                set_={
                    **{key: upsert.excluded[key] for key in values if key != "tenant_id"},
                    "version": t.groups.c.version + 1,
                    "updated_at": func.now(),
                },
            ).returning(t.groups.c.version)
        elif (known := self._versions[group_id]) is None:
            # Loaded as absent: a plain insert, so a concurrent creation is a conflict.
            statement = insert(t.groups).values(values).returning(t.groups.c.version)
        else:
            statement = (
                update(t.groups)
                .where(t.groups.c.tenant_id == group_id, t.groups.c.version == known)
                .values(
                    {
                        **{key: value for key, value in values.items() if key != "tenant_id"},
                        "version": t.groups.c.version + 1,
                        "updated_at": func.now(),
                    }
                )
                .returning(t.groups.c.version)
            )
        version = (await self._session.execute(statement)).scalar_one_or_none()
        if version is None:
            msg = f"group {group_id} was changed by a concurrent transaction"
            raise StorageConflict(msg)
        self._versions[group_id] = int(version)
        if self._stored_channels.get(group_id) != policy.channels:
            await self._session.execute(
                delete(t.required_channels).where(t.required_channels.c.tenant_id == group_id)
            )
            if policy.channels:
                await self._session.execute(insert(t.required_channels), channel_values(policy))
            self._stored_channels[group_id] = policy.channels

    async def raid_locked(self, group_id: GroupId) -> Raid | None:
        row = (
            (
                await self._session.execute(
                    select(t.groups).where(t.groups.c.tenant_id == group_id).with_for_update()
                )
            )
            .mappings()
            .one_or_none()
        )
        return None if row is None else raid_from_row(row)

    async def save_raid(self, group_id: GroupId, raid: Raid | None) -> None:
        # The policy's version stays: a raid never conflicts with a change of settings.
        changed = await self._session.execute(
            update(t.groups)
            .where(t.groups.c.tenant_id == group_id)
            .values(raid_values(raid))
            .returning(t.groups.c.tenant_id)
        )
        if changed.first() is None:
            msg = f"group {group_id} was never set up"
            raise StorageError(msg)

    async def log_cursor(self, group_id: GroupId) -> int:
        cursor = await self._session.execute(
            select(t.groups.c.log_cursor).where(t.groups.c.tenant_id == group_id)
        )
        return int(cursor.scalar_one_or_none() or 0)

    async def set_log_cursor(self, group_id: GroupId, cursor: int) -> None:
        # Not part of the policy: its version stays, so no concurrent change conflicts on it.
        await self._session.execute(
            update(t.groups).where(t.groups.c.tenant_id == group_id).values(log_cursor=cursor)
        )


_RESTRICTION_KEY = frozenset({"tenant_id", "user_id"})


class PostgresRestrictionRepository(RestrictionRepository):
    """Restrictions the bot applied, in `restrictions`."""

    def __init__(self, session: TenantConnection) -> None:
        self._session = session

    async def get(self, group_id: GroupId, user_id: UserId) -> Restriction | None:
        return await self._one(self._of(group_id, user_id))

    async def get_locked(self, group_id: GroupId, user_id: UserId) -> Restriction | None:
        return await self._one(self._of(group_id, user_id).with_for_update())

    @staticmethod
    def _of(group_id: GroupId, user_id: UserId) -> Select[Any]:
        return select(t.restrictions).where(
            t.restrictions.c.tenant_id == group_id, t.restrictions.c.user_id == user_id
        )

    async def _one(self, query: Select[Any]) -> Restriction | None:
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else restriction_from_row(row)

    async def save(self, restriction: Restriction) -> None:
        values = restriction_values(restriction)
        upsert = pg_insert(t.restrictions).values(values)
        await self._session.execute(
            upsert.on_conflict_do_update(
                index_elements=[t.restrictions.c.tenant_id, t.restrictions.c.user_id],
                set_={key: upsert.excluded[key] for key in values if key not in _RESTRICTION_KEY},
            )
        )

    async def delete(self, group_id: GroupId, user_id: UserId) -> bool:
        deleted = await self._session.execute(
            delete(t.restrictions)
            .where(t.restrictions.c.tenant_id == group_id, t.restrictions.c.user_id == user_id)
            .returning(t.restrictions.c.user_id)
        )
        return deleted.first() is not None

    async def all(self, group_id: GroupId) -> tuple[Restriction, ...]:
        return await self._many(self._in(group_id))

    async def all_locked(self, group_id: GroupId) -> tuple[Restriction, ...]:
        return await self._many(self._in(group_id).with_for_update())

    @staticmethod
    def _in(group_id: GroupId) -> Select[Any]:
        return (
            select(t.restrictions)
            .where(t.restrictions.c.tenant_id == group_id)
            .order_by(t.restrictions.c.since, t.restrictions.c.user_id)
        )

    async def _many(self, query: Select[Any]) -> tuple[Restriction, ...]:
        rows = (await self._session.execute(query)).mappings()
        return tuple(restriction_from_row(row) for row in rows)

    async def warned_by(self, group_id: GroupId, message_id: MessageId) -> tuple[UserId, ...]:
        restrictions = t.restrictions.c
        rows = await self._session.execute(
            select(restrictions.user_id)
            .where(
                restrictions.tenant_id == group_id, restrictions.warning_message_id == message_id
            )
            .order_by(restrictions.user_id)
        )
        return tuple(UserId(int(user_id)) for (user_id,) in rows)

    async def claim_mute(
        self, group_id: GroupId, user_id: UserId, at: datetime, settle: timedelta
    ) -> bool:
        claimed = await self._session.execute(
            _CLAIM_MUTE,
            {"tenant": group_id, "user": user_id, "at": at, "settle": settle},
        )
        return claimed.first() is not None


_CLAIM_MUTE = text(
    "WITH spent AS (DELETE FROM mute_claims "
    "WHERE tenant_id = :tenant AND user_id <> :user AND claimed_at <= :at - :settle) "
    "INSERT INTO mute_claims AS claim (tenant_id, user_id, claimed_at, claimed_by) "
    "VALUES (:tenant, :user, :at, pg_backend_pid()) "
    "ON CONFLICT (tenant_id, user_id) DO UPDATE "
    "SET claimed_at = excluded.claimed_at, claimed_by = excluded.claimed_by "
    "WHERE claim.claimed_at <= excluded.claimed_at - :settle "
    "OR NOT EXISTS (SELECT 1 FROM pg_stat_activity AS s WHERE s.pid = claim.claimed_by) "
    "RETURNING claim.user_id"
).bindparams(
    bindparam("tenant", type_=BigInteger),
    bindparam("user", type_=BigInteger),
    bindparam("at", type_=DateTime(timezone=True)),
    bindparam("settle", type_=Interval),
)
"""The burst guard: a claim holds for the settle time while the session that made it lives
(`claimed_by`, its backend pid: a killed worker's pooled connections end with it). Each claim
also deletes the group's claims whose settle time is over (they hold nobody), so the table holds
the last few seconds' mutes, not every mute ever made."""


class PostgresExemptionRepository(ExemptionRepository):
    """Exempt users in `exemptions`."""

    def __init__(self, session: TenantConnection) -> None:
        self._session = session

    async def all(self, group_id: GroupId) -> frozenset[UserId]:
        users = await self._session.execute(
            select(t.exemptions.c.user_id).where(t.exemptions.c.tenant_id == group_id)
        )
        return frozenset(UserId(int(user)) for user in users.scalars())

    async def add(self, group_id: GroupId, user_id: UserId) -> bool:
        added = await self._session.execute(
            pg_insert(t.exemptions)
            .values(tenant_id=group_id, user_id=user_id)
            .on_conflict_do_nothing()
            .returning(t.exemptions.c.user_id)
        )
        return added.first() is not None

    async def remove(self, group_id: GroupId, user_id: UserId) -> bool:
        removed = await self._session.execute(
            delete(t.exemptions)
            .where(t.exemptions.c.tenant_id == group_id, t.exemptions.c.user_id == user_id)
            .returning(t.exemptions.c.user_id)
        )
        return removed.first() is not None


class PostgresKnownMemberRepository(KnownMemberRepository):
    """Usernames seen in the group, in `known_members` (stored lower-cased)."""

    def __init__(self, session: TenantConnection) -> None:
        self._session = session

    async def remember(self, group_id: GroupId, user_id: UserId, username: str | None) -> None:
        members, name = t.known_members.c, username.lower() if username else None
        if name is not None:  # usernames move between accounts
            await self._session.execute(
                update(t.known_members)
                .where(
                    members.tenant_id == group_id,
                    members.username == name,
                    members.user_id != user_id,
                )
                .values(username=None)
            )
        upsert = pg_insert(t.known_members).values(
            tenant_id=group_id, user_id=user_id, username=name
        )
        await self._session.execute(
            upsert.on_conflict_do_update(
                index_elements=[members.tenant_id, members.user_id],
                set_={"username": upsert.excluded.username, "seen_at": func.now()},
            )
        )

    async def find(self, group_id: GroupId, username: str) -> UserId | None:
        members = t.known_members.c
        found = await self._session.execute(
            select(members.user_id).where(
                members.tenant_id == group_id, members.username == username.lower()
            )
        )
        user = found.scalar_one_or_none()
        return None if user is None else UserId(int(user))


class PostgresAuditLog(AuditLog):
    """The audit trail in `audit_events` (the runtime role may only insert and read)."""

    def __init__(self, session: TenantConnection) -> None:
        self._session = session

    async def record(self, event: AuditEvent) -> None:
        await self._session.execute(insert(t.audit_events).values(event_values(event)))

    async def recent(self, group_id: GroupId, limit: int) -> tuple[AuditEvent, ...]:
        if limit <= 0:
            return ()
        rows = (
            await self._session.execute(
                select(t.audit_events)
                .where(t.audit_events.c.tenant_id == group_id)
                .order_by(t.audit_events.c.id.desc())
                .limit(limit)
            )
        ).mappings()
        return tuple(event_from_row(row) for row in rows)

    async def count(self, group_id: GroupId, kind: AuditKind, since: datetime) -> int:
        events = t.audit_events.c
        counted = await self._session.execute(
            select(func.count())
            .select_from(t.audit_events)
            .where(events.tenant_id == group_id, events.kind == kind.value, events.at >= since)
        )
        return int(counted.scalar_one())

    async def after(
        self, group_id: GroupId, cursor: int, limit: int
    ) -> tuple[tuple[int, AuditEvent], ...]:
        if limit <= 0:
            return ()
        events = t.audit_events.c
        rows = (
            await self._session.execute(
                select(t.audit_events)
                .where(events.tenant_id == group_id, events.id > cursor)
                .order_by(events.id)
                .limit(limit)
            )
        ).mappings()
        return tuple((int(row["id"]), event_from_row(row)) for row in rows)

    async def last_id(self, group_id: GroupId) -> int:
        events = t.audit_events.c
        last = await self._session.execute(
            select(func.max(events.id)).where(events.tenant_id == group_id)
        )
        return int(last.scalar_one_or_none() or 0)


class PostgresScheduledActionRepository(ScheduledActionRepository):
    """Deferred work in `scheduled_actions`; claiming skips rows other workers hold."""

    def __init__(self, session: TenantConnection) -> None:
        self._session = session

    async def add(self, action: ScheduledAction) -> None:
        await self._session.execute(insert(t.scheduled_actions).values(action_values(action)))

    async def claim_due(
        self,
        group_id: GroupId,
        now: datetime,
        lease: timedelta,
        limit: int,
        kinds: Collection[ActionKind] | None = None,
    ) -> tuple[ScheduledAction, ...]:
        if limit <= 0:
            return ()
        actions = t.scheduled_actions.c
        due = select(t.scheduled_actions).where(
            actions.tenant_id == group_id, actions.due_at <= now
        )
        if kinds is not None:
            due = due.where(actions.kind.in_([kind.value for kind in kinds]))
        rows = (
            await self._session.execute(
                due.order_by(actions.due_at, actions.action_id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).mappings()
        claimed = tuple(action_from_row(row) for row in rows)
        if claimed:
            await self._session.execute(
                update(t.scheduled_actions)
                .where(actions.action_id.in_([action.action_id for action in claimed]))
                .values(due_at=now + lease)
            )
        return claimed

    async def complete(self, group_id: GroupId, action_id: uuid.UUID) -> None:
        actions = t.scheduled_actions.c
        await self._session.execute(
            delete(t.scheduled_actions).where(
                actions.tenant_id == group_id, actions.action_id == action_id
            )
        )

    async def reschedule(self, action: ScheduledAction) -> None:
        if action.group_id != self._session.tenant:
            # An UPDATE of rows the policy hides changes nothing silently; say so instead.
            msg = (
                f"action of tenant {action.group_id} rescheduled in tenant {self._session.tenant}"
            )
            raise StorageError(msg)
        actions = t.scheduled_actions.c
        await self._session.execute(
            update(t.scheduled_actions)
            .where(actions.tenant_id == action.group_id, actions.action_id == action.action_id)
            .values(due_at=action.due_at, attempts=action.attempts)
        )

    async def cancel(self, group_id: GroupId, kind: ActionKind, user_id: UserId) -> int:
        actions = t.scheduled_actions.c
        cancelled = await self._session.execute(
            delete(t.scheduled_actions)
            .where(
                actions.tenant_id == group_id,
                actions.user_id == user_id,
                actions.kind == kind.value,
            )
            .returning(actions.action_id)
        )
        return len(cancelled.all())

    async def pending(self, group_id: GroupId) -> tuple[ScheduledAction, ...]:
        actions = t.scheduled_actions.c
        rows = (
            await self._session.execute(
                select(t.scheduled_actions)
                .where(actions.tenant_id == group_id)
                .order_by(actions.due_at, actions.action_id)
            )
        ).mappings()
        return tuple(action_from_row(row) for row in rows)


class PostgresJoinRequestRepository(JoinRequestRepository):
    """Pending join requests in `join_requests`."""

    def __init__(self, session: TenantConnection) -> None:
        self._session = session

    async def get(self, group_id: GroupId, user_id: UserId) -> PendingJoinRequest | None:
        row = (
            (
                await self._session.execute(
                    select(t.join_requests).where(
                        t.join_requests.c.tenant_id == group_id,
                        t.join_requests.c.user_id == user_id,
                    )
                )
            )
            .mappings()
            .one_or_none()
        )
        return None if row is None else join_request_from_row(row)

    async def save(self, request: PendingJoinRequest) -> None:
        values = join_request_values(request)
        upsert = pg_insert(t.join_requests).values(values)
        await self._session.execute(
            upsert.on_conflict_do_update(
                index_elements=[t.join_requests.c.tenant_id, t.join_requests.c.user_id],
                set_={
                    key: upsert.excluded[key]
                    for key in values
                    if key not in ("tenant_id", "user_id")
                },
            )
        )

    async def delete(self, group_id: GroupId, user_id: UserId) -> bool:
        deleted = await self._session.execute(
            delete(t.join_requests)
            .where(t.join_requests.c.tenant_id == group_id, t.join_requests.c.user_id == user_id)
            .returning(t.join_requests.c.user_id)
        )
        return deleted.first() is not None
