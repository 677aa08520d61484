"""The audit trail (rule 9): appending to it, and showing every committed event in the log.

`LoggedUnitOfWork` wraps any unit of work: each audit event a transaction records is also one
log line once that transaction commits (INFO; failures at DEBUG, since the code that meets
them already logs a warning, throttled for repeated failures), with the
group, the member, the actor, the channel and the reason as fields (`extra`), so the operator
sees one structured line per enforcement action and configuration change, and nothing for
messages that pass (they are not audited). Rolled-back events are not logged.
"""

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

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
from application.ports.unit_of_work import Transaction, UnitOfWork
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId

log = logging.getLogger("nezuko.audit")

EVENT_NAMES: dict[AuditKind, str] = {
    AuditKind.MUTED: "member.muted",
    AuditKind.UNMUTED: "member.unmuted",
    AuditKind.WARNED: "warning.sent",
    AuditKind.MESSAGE_DELETED: "message.deleted",
    AuditKind.KICKED: "member.kicked",
    AuditKind.CHECK_FAILED: "check.failed",
    AuditKind.ACTION_FAILED: "action.failed",
    AuditKind.PROTECTED: "group.protected",
    AuditKind.UNPROTECTED: "group.unprotected",
    AuditKind.CHANNEL_UNLINKED: "channel.unlinked",
    AuditKind.SETTING_CHANGED: "setting.changed",
    AuditKind.EXEMPTED: "member.exempted",
    AuditKind.UNEXEMPTED: "member.unexempted",
    AuditKind.BOT_STATUS_CHANGED: "bot.status_changed",
    AuditKind.JOIN_REQUESTED: "join.requested",
    AuditKind.JOIN_APPROVED: "join.approved",
    AuditKind.JOIN_DECLINED: "join.declined",
    AuditKind.RAID_STARTED: "raid.started",
    AuditKind.RAID_ENDED: "raid.ended",
    AuditKind.LOG_CHANNEL_SET: "log_channel.set",
    AuditKind.LOG_CHANNEL_OFF: "log_channel.off",
}
"""The log line's event for each kind of audit event."""

_FAILURES = frozenset({AuditKind.CHECK_FAILED, AuditKind.ACTION_FAILED})


async def record(uow: UnitOfWork, event: AuditEvent) -> None:
    """Append one audit event in its own short transaction."""
    async with uow.begin(event.group_id) as tx:
        await tx.audit.record(event)
        await tx.commit()


def log_event(event: AuditEvent) -> None:
    """One log line for an audit event, every value its own field."""
    fields: dict[str, Any] = {"group": event.group_id, "kind": event.kind.value}
    if event.subject is not None:
        fields["user"] = event.subject
    if event.actor is not None:
        fields["actor"] = event.actor
    if event.channel_id is not None:
        fields["channel"] = event.channel_id
    if event.missing:
        fields["missing"] = list(event.missing)
    if event.reason:
        fields["reason"] = event.reason
    level = logging.DEBUG if event.kind in _FAILURES else logging.INFO
    log.log(level, EVENT_NAMES[event.kind], extra=fields)


@attrs.define
class _NotedAuditLog(AuditLog):
    """The transaction's audit log, noting what is recorded for the log after the commit."""

    inner: AuditLog
    noted: list[AuditEvent] = attrs.field(factory=list[AuditEvent])

    async def record(self, event: AuditEvent) -> None:
        await self.inner.record(event)
        self.noted.append(event)

    async def recent(self, group_id: GroupId, limit: int) -> tuple[AuditEvent, ...]:
        return await self.inner.recent(group_id, limit)

    async def count(self, group_id: GroupId, kind: AuditKind, since: datetime) -> int:
        return await self.inner.count(group_id, kind, since)

    async def after(
        self, group_id: GroupId, cursor: int, limit: int
    ) -> tuple[tuple[int, AuditEvent], ...]:
        return await self.inner.after(group_id, cursor, limit)

    async def last_id(self, group_id: GroupId) -> int:
        return await self.inner.last_id(group_id)


type AuditObserver = Callable[[AuditEvent], None]
"""Told of every committed audit event (the metrics count them)."""


@attrs.define
class _LoggedTransaction(Transaction):
    inner: Transaction
    observers: tuple[AuditObserver, ...] = ()
    groups: GroupRepository = attrs.field(init=False)
    restrictions: RestrictionRepository = attrs.field(init=False)
    exemptions: ExemptionRepository = attrs.field(init=False)
    audit: AuditLog = attrs.field(init=False)
    actions: ScheduledActionRepository = attrs.field(init=False)
    join_requests: JoinRequestRepository = attrs.field(init=False)
    members: KnownMemberRepository = attrs.field(init=False)
    _noted: _NotedAuditLog = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.groups = self.inner.groups
        self.restrictions = self.inner.restrictions
        self.exemptions = self.inner.exemptions
        self.actions = self.inner.actions
        self.join_requests = self.inner.join_requests
        self.members = self.inner.members
        self._noted = _NotedAuditLog(self.inner.audit)
        self.audit = self._noted

    async def commit(self) -> None:
        await self.inner.commit()
        noted, self._noted.noted = self._noted.noted, []
        for event in noted:
            log_event(event)
            for observe in self.observers:
                observe(event)


@attrs.define
class LoggedUnitOfWork(UnitOfWork):
    """A unit of work whose committed audit events are also log lines (module docstring)."""

    inner: UnitOfWork
    observers: tuple[AuditObserver, ...] = ()
    """Also told of each committed event, after its log line."""

    @asynccontextmanager
    async def _transaction(self, tenant: GroupId) -> AsyncGenerator[Transaction]:
        async with self.inner.begin(tenant) as tx:
            yield _LoggedTransaction(tx, self.observers)

    def begin(self, tenant: GroupId) -> AbstractAsyncContextManager[Transaction]:
        """The inner unit of work's transaction, its audit events logged once committed."""
        return self._transaction(tenant)
