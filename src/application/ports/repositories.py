"""Repositories: the tenant-owned state of each group. Used only inside a `Transaction`.

Every method works within the transaction's tenant: rows of other groups are invisible (the
PostgreSQL adapter enforces this with row-level security, the memory adapter by filtering). None of
them commits; the use case does, through the transaction.
"""

import uuid
from abc import abstractmethod
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol

from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, MessageId, UserId
from domain.join_request import PendingJoinRequest
from domain.policy import GroupPolicy
from domain.raid import Raid
from domain.restriction import Restriction
from domain.schedule import ActionKind, ScheduledAction


class GroupRepository(Protocol):
    """Group policies: required channels with their display data, enabled flag, settings."""

    @abstractmethod
    async def get(self, group_id: GroupId) -> GroupPolicy | None:
        """The group's policy, or `None` if the group was never set up."""

    @abstractmethod
    async def save(self, policy: GroupPolicy) -> None:
        """Insert or replace the policy, its channels (in order) and settings.

        The raid (`policy.raid`) is not saved with it: it changes on its own (`save_raid`).
        """

    @abstractmethod
    async def raid_locked(self, group_id: GroupId) -> Raid | None:
        """The group's raid, if any; it stays locked until the transaction ends (rule 13)."""

    @abstractmethod
    async def save_raid(self, group_id: GroupId, raid: Raid | None) -> None:
        """Store the group's raid (`None`: forget it). The group must have been set up."""

    @abstractmethod
    async def log_cursor(self, group_id: GroupId) -> int:
        """The id of the last audit event posted to the group's log channel (0: none yet)."""

    @abstractmethod
    async def set_log_cursor(self, group_id: GroupId, cursor: int) -> None:
        """Remember that every audit event up to `cursor` was posted (or is not to be)."""


class RestrictionRepository(Protocol):
    """Member states: who the bot restricted in the group, and why."""

    @abstractmethod
    async def get(self, group_id: GroupId, user_id: UserId) -> Restriction | None:
        """The bot's restriction of this member, if the bot applied one."""

    @abstractmethod
    async def get_locked(self, group_id: GroupId, user_id: UserId) -> Restriction | None:
        """`get`, for a read-modify-write: the restriction stays locked until the transaction ends.

        Another transaction reading it for update waits, then sees this one's write.
        """

    @abstractmethod
    async def save(self, restriction: Restriction) -> None:
        """Insert or replace the restriction of `restriction.user_id`."""

    @abstractmethod
    async def delete(self, group_id: GroupId, user_id: UserId) -> bool:
        """Forget the restriction; return whether there was one."""

    @abstractmethod
    async def all(self, group_id: GroupId) -> tuple[Restriction, ...]:
        """Every restriction the bot holds in the group, oldest first."""

    @abstractmethod
    async def all_locked(self, group_id: GroupId) -> tuple[Restriction, ...]:
        """`all`, for rewriting them: they stay locked until the transaction ends."""

    @abstractmethod
    async def warned_by(self, group_id: GroupId, message_id: MessageId) -> tuple[UserId, ...]:
        """The members whose current warning is this message (several for a merged warning)."""

    @abstractmethod
    async def claim_mute(
        self, group_id: GroupId, user_id: UserId, at: datetime, settle: timedelta
    ) -> bool:
        """Begin a mute of the member at `at`; False if one began within `settle` before.

        The burst guard shared by every process of the bot (issue 15): a mute begun by another
        process counts while that process runs (one killed meanwhile does not hold the member).
        Claims of one member wait for each other: of several at once, exactly one succeeds,
        and the others then see its transaction's writes.
        """


class ExemptionRepository(Protocol):
    """Users a group's admins exempted from enforcement."""

    @abstractmethod
    async def all(self, group_id: GroupId) -> frozenset[UserId]:
        """Every exempt user of the group."""

    @abstractmethod
    async def add(self, group_id: GroupId, user_id: UserId) -> bool:
        """Exempt the user; return False if they already were."""

    @abstractmethod
    async def remove(self, group_id: GroupId, user_id: UserId) -> bool:
        """Stop exempting the user; return False if they were not exempt."""


class KnownMemberRepository(Protocol):
    """Members the bot has seen in the group, with their usernames (`/exempt @username`).

    The Bot API cannot look a user up by @username, so the bot keeps what it saw in updates of
    the group, per group: a name seen in one group never resolves in another.
    """

    @abstractmethod
    async def remember(self, group_id: GroupId, user_id: UserId, username: str | None) -> None:
        """Record that `user_id` was seen in the group, with `username` (`None`: has none).

        Usernames compare case-insensitively and move between accounts: anyone else recorded
        with it in the group loses it. Idempotent.
        """

    @abstractmethod
    async def find(self, group_id: GroupId, username: str) -> UserId | None:
        """Who was last seen with `username` (case-insensitive, no "@") in the group."""


class AuditLog(Protocol):
    """The group's audit trail. Append-only."""

    @abstractmethod
    async def record(self, event: AuditEvent) -> None:
        """Append one event."""

    @abstractmethod
    async def recent(self, group_id: GroupId, limit: int) -> tuple[AuditEvent, ...]:
        """The latest `limit` events, newest first."""

    @abstractmethod
    async def count(self, group_id: GroupId, kind: AuditKind, since: datetime) -> int:
        """How many events of `kind` happened at or after `since`."""

    @abstractmethod
    async def after(
        self, group_id: GroupId, cursor: int, limit: int
    ) -> tuple[tuple[int, AuditEvent], ...]:
        """Up to `limit` events recorded after the one with id `cursor`, oldest first.

        Each comes with its id; ids grow with every event recorded.
        """

    @abstractmethod
    async def last_id(self, group_id: GroupId) -> int:
        """The id of the group's latest event; 0 when it has none."""


class ScheduledActionRepository(Protocol):
    """Deferred work: warning deletions, kicks, bulk lifting of restrictions."""

    @abstractmethod
    async def add(self, action: ScheduledAction) -> None:
        """Schedule an action."""

    @abstractmethod
    async def claim_due(
        self,
        group_id: GroupId,
        now: datetime,
        lease: timedelta,
        limit: int,
        kinds: Collection[ActionKind] | None = None,
    ) -> tuple[ScheduledAction, ...]:
        """Take up to `limit` actions of `kinds` (`None`: any) due at `now`, earliest first.

        Claimed actions are pushed back to `now + lease`, so a worker that dies leaves them to be
        claimed again once the lease runs out; a concurrent claimer skips them (never runs one
        action twice). The caller completes or reschedules each one.
        """

    @abstractmethod
    async def complete(self, group_id: GroupId, action_id: uuid.UUID) -> None:
        """Remove a finished (or abandoned) action. Idempotent."""

    @abstractmethod
    async def reschedule(self, action: ScheduledAction) -> None:
        """Store the action's new due time and attempt count."""

    @abstractmethod
    async def cancel(self, group_id: GroupId, kind: ActionKind, user_id: UserId) -> int:
        """Remove pending actions of a kind for one member; return how many there were."""

    @abstractmethod
    async def pending(self, group_id: GroupId) -> tuple[ScheduledAction, ...]:
        """Every pending action of the group, earliest first."""


class JoinRequestRepository(Protocol):
    """Join requests the gate holds pending (rule 14)."""

    @abstractmethod
    async def get(self, group_id: GroupId, user_id: UserId) -> PendingJoinRequest | None:
        """The member's pending request to join the group, if the gate holds one."""

    @abstractmethod
    async def save(self, request: PendingJoinRequest) -> None:
        """Insert or replace the request of `request.user_id`."""

    @abstractmethod
    async def delete(self, group_id: GroupId, user_id: UserId) -> bool:
        """Forget the request; return whether there was one."""
