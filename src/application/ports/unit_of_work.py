"""Transactions scoped to one tenant, and the few questions that span tenants."""

from abc import abstractmethod
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

import attrs

from application.ports.repositories import (
    AuditLog,
    ExemptionRepository,
    GroupRepository,
    JoinRequestRepository,
    KnownMemberRepository,
    RestrictionRepository,
    ScheduledActionRepository,
)
from domain.ids import ChannelId, GroupId, UserId
from domain.schedule import ActionKind


class Transaction(Protocol):
    """One database transaction in one tenant's scope, with the repositories bound to it."""

    groups: GroupRepository
    restrictions: RestrictionRepository
    exemptions: ExemptionRepository
    audit: AuditLog
    actions: ScheduledActionRepository
    join_requests: JoinRequestRepository
    members: KnownMemberRepository

    @abstractmethod
    async def commit(self) -> None:
        """Make this transaction's writes durable. Leaving the block without it rolls back.

        Raises:
            StorageConflict: a concurrent transaction changed the same rows first.
            StorageError: the database failed; nothing was written.
        """


class UnitOfWork(Protocol):
    """Opens transactions; the use case decides where they begin, commit and end."""

    @abstractmethod
    def begin(self, tenant: GroupId) -> AbstractAsyncContextManager[Transaction]:
        """Open one transaction whose rows are limited to `tenant`'s.

        Rolls back on leaving the block unless `commit()` was called; never keeps a tenant (or a
        connection state) beyond the block. Keep the block short: no Telegram calls inside.
        """


@attrs.frozen
class DirectoryStatistics:
    """Counts across every tenant, for the operator's metrics; never an id."""

    protected_groups: int
    """Groups with protection on and at least one required channel (rule 1)."""
    muted_members: int
    """Restrictions the bot holds, in every group."""
    pending_actions: int
    """Scheduled actions not done yet (deletions, kicks, lifts, warnings, notices)."""
    oldest_due_at: datetime | None
    """When the earliest pending action is due; `None` when there is none."""

    def lateness(self, now: datetime) -> float:
        """Seconds the earliest pending action is overdue at `now` (0 when none is)."""
        if self.oldest_due_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_due_at).total_seconds())


class TenantDirectory(Protocol):
    """The narrow cross-tenant seam: answers ids only; work then runs in each tenant's scope."""

    @abstractmethod
    async def groups_requiring(self, channel_id: ChannelId) -> tuple[GroupId, ...]:
        """Groups whose enabled protection requires the channel."""

    @abstractmethod
    async def groups_to_free(self, channel_id: ChannelId, user_id: UserId) -> tuple[GroupId, ...]:
        """Groups requiring the channel where the bot holds the member (rules 6 and 14).

        Groups whose enabled protection requires the channel and where the bot holds a
        restriction of the member or a join request of theirs: where the member joining the
        channel can change something. The other groups requiring it cost nothing when they
        join (one query, however many groups require the channel).
        """

    @abstractmethod
    async def groups_with_due_actions(
        self, now: datetime, kinds: frozenset[ActionKind]
    ) -> tuple[GroupId, ...]:
        """Groups that have a scheduled action of one of `kinds` due at `now`.

        One query across tenants, whatever the number of groups: a loop visits only the groups
        with work of its own kinds due (the paced sender `PACED_KINDS`, the due-actions loop the
        others), then does that work in each group's tenant scope.
        """

    @abstractmethod
    async def groups_seen_with(self, user_id: UserId) -> tuple[GroupId, ...]:
        """Groups where the bot has seen the user (wrote, joined).

        Candidates only: the caller checks the user's admin rights with Telegram (private
        `/settings`).
        """

    @abstractmethod
    async def groups_with_unposted_log(self) -> tuple[GroupId, ...]:
        """Groups with a log channel and audit events recorded after their log cursor."""

    @abstractmethod
    async def groups_muting(self, user_id: UserId) -> tuple[GroupId, ...]:
        """Groups with protection on where the bot holds a restriction of the member (rule 12)."""

    @abstractmethod
    async def statistics(self) -> DirectoryStatistics:
        """The counts of `DirectoryStatistics`, across every tenant, in one round trip.

        Raises:
            StorageError: the database failed.
        """
