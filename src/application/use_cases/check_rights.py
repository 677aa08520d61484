"""`/check`: diagnose the bot's rights in the group and in every linked channel."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.diagnosis import (
    Finding,
    channel_findings,
    group_findings,
    log_channel_findings,
)
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.ids import GroupId
from domain.policy import RequiredChannel


@attrs.frozen
class CheckCommand:
    """Diagnose a group."""

    group_id: GroupId
    caller: Caller


@attrs.frozen
class CheckReport:
    """Every problem found; none means the bot can do its job."""

    channels: tuple[RequiredChannel, ...]
    findings: tuple[Finding, ...]
    join_gate: bool = False
    """The group's join gate is on (its right is among what was checked)."""

    @property
    def healthy(self) -> bool:
        """Nothing to fix."""
        return not self.findings


@attrs.frozen
class CheckRights:
    """Ask Telegram for the bot's rights in the group, each channel and the log channel.

    With the join gate on, the group's findings include the right it needs (rule 14). The log
    channel (`/setlog`): the bot must be an admin who may post there.
    """

    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, command: CheckCommand) -> CheckReport:
        """Diagnose (no changes)."""
        group_id, messenger = command.group_id, self.messenger
        await ensure_can_configure(messenger, group_id, command.caller)
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
        channels = policy.channels if policy is not None else ()
        join_gate = policy is not None and policy.settings.join_gate
        findings = list(await group_findings(messenger, group_id, join_gate=join_gate))
        for channel in channels:
            findings += await channel_findings(
                messenger,
                channel.channel_id,
                has_username=channel.username is not None,
                reference=channel.title,
            )
        if policy is not None and policy.log_channel is not None:
            log_channel = policy.log_channel
            findings += await log_channel_findings(
                messenger, log_channel.channel_id, log_channel.title
            )
        return CheckReport(channels, tuple(findings), join_gate)
