"""`/setlog @channel` (or an id; `/setlog off`): where the group's audit events are posted."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.diagnosis import Finding, Problem, log_channel_findings
from application.errors import ChatNotFound
from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.messenger import ChatKind, Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId
from domain.policy import GroupPolicy, LogChannel, parse_channel_ref

OFF = "off"
"""The argument that stops posting audit events anywhere."""


@attrs.frozen
class SetLogCommand:
    """Post the group's audit events to the channel `reference` names (`off`: nowhere)."""

    group_id: GroupId
    group_title: str
    caller: Caller
    reference: str


@attrs.frozen
class SetLogResult:
    """The log channel now (`None`: off), or what to fix (then nothing was changed)."""

    channel: LogChannel | None = None
    findings: tuple[Finding, ...] = ()


@attrs.frozen
class SetLogChannel:
    """Issue 11 point 4: a log channel per group.

    - Admins only (as every configuration command).
    - The bot must be an admin of the channel who may post there; otherwise nothing is saved
      and the reply says what to fix.
    - Only events from now on are posted (the cursor starts at the latest event), so setting a
      channel never floods it with the past.
    - Audited as a configuration change.
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    groups: GroupCache

    async def execute(self, command: SetLogCommand) -> SetLogResult:
        """Check the channel, then save it (or switch posting off)."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        channel: LogChannel | None = None
        if command.reference.strip().lower() != OFF:
            ref = parse_channel_ref(command.reference)
            try:
                info = await self.messenger.chat(ref)
            except ChatNotFound:
                return SetLogResult(findings=(Finding(Problem.NOT_FOUND, None, str(ref)),))
            named = info.title if ref.username is None and info.title else str(ref)
            if info.kind is not ChatKind.CHANNEL:
                return SetLogResult(
                    findings=(Finding(Problem.NOT_A_CHANNEL, info.chat_id, named),)
                )
            findings = await log_channel_findings(self.messenger, info.chat_id, named)
            if findings:
                return SetLogResult(findings=findings)
            channel = LogChannel(ChannelId(info.chat_id), info.title)
        await self._save(command, channel)
        return SetLogResult(channel)

    async def _save(self, command: SetLogCommand, channel: LogChannel | None) -> None:
        group_id = command.group_id
        async with self.uow.begin(group_id) as tx:
            current = await tx.groups.get(group_id) or GroupPolicy(group_id, command.group_title)
            await tx.groups.save(current.logging_to(channel))
            await tx.groups.set_log_cursor(group_id, await tx.audit.last_id(group_id))
            kind = AuditKind.LOG_CHANNEL_OFF if channel is None else AuditKind.LOG_CHANNEL_SET
            reason = (
                ""
                if channel is None
                else reasons.LOG_CHANNEL.format(title=channel.title, channel=channel.channel_id)
            )
            await tx.audit.record(
                AuditEvent.by(
                    command.caller.user_id, kind, group_id, self.clock.now(), reason=reason
                )
            )
            await tx.commit()
        await self.groups.forget(group_id)
