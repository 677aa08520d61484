"""Transactions scoped to one tenant, and the few questions that span tenants."""

from abc import abstractmethod
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from application.ports.repositories import (
    AuditLog,
    ExemptionRepository,
    GroupRepository,
    KnownMemberRepository,
    RestrictionRepository,
    ScheduledActionRepository,
)
from domain.ids import ChannelId, GroupId, UserId


class Transaction(Protocol):
    """One database transaction in one tenant's scope, with the repositories bound to it."""

    groups: GroupRepository
    restrictions: RestrictionRepository
    exemptions: ExemptionRepository
    audit: AuditLog
    actions: ScheduledActionRepository
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


class TenantDirectory(Protocol):
    """The narrow cross-tenant seam: answers ids only; work then runs in each tenant's scope."""

    @abstractmethod
    async def groups_requiring(self, channel_id: ChannelId) -> tuple[GroupId, ...]:
        """Groups whose enabled protection requires the channel."""

    @abstractmethod
    async def groups_with_due_actions(self, now: datetime) -> tuple[GroupId, ...]:
        """Groups that have scheduled actions due at `now`."""

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
