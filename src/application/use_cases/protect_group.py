"""`/protect @channel …`: link channels to a group and enable protection."""

import enum

import attrs

from application.authorization import Caller, ensure_can_configure
from application.diagnosis import Finding, Problem, channel_findings, group_findings
from application.errors import ChatNotFound
from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.messenger import ChatInfo, ChatKind, Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId
from domain.policy import ChannelRef, GroupPolicy, RequiredChannel, parse_channel_ref


@attrs.frozen
class ProtectCommand:
    """Protect `group_id` with the channels an admin named (none: enable what is linked)."""

    group_id: GroupId
    group_title: str
    caller: Caller
    references: tuple[str, ...]


class ProtectOutcome(enum.StrEnum):
    """What `/protect` came to."""

    PROTECTED = "protected"
    NEEDS_FIXES = "needs_fixes"
    """Nothing was changed: the bot lacks rights, or a channel is unusable (see `findings`)."""
    NO_CHANNELS = "no_channels"
    """No channel was named and none is linked."""


@attrs.frozen
class ProtectResult:
    """The outcome, the resulting policy, and what an admin must fix."""

    outcome: ProtectOutcome
    policy: GroupPolicy | None = None
    findings: tuple[Finding, ...] = ()
    newly_linked: tuple[ChannelId, ...] = ()


@attrs.frozen
class ProtectGroup:
    """Link channels and enable protection.

    - Only the creator, an admin who can restrict members, or an anonymous admin may do it.
    - Channels may be named as `@username`, `t.me/…` links or `-100…` ids.
    - The bot's rights are checked first, in the group and in every channel; if anything is
      missing, nothing is written and every problem is reported at once.
    - All channels are linked in one transaction (atomic), and running it again is harmless
      (idempotent). `/protect` with no channel enables the channels already linked.
    - A channel with no public username gets one invite link per group, created once.
    - What to fix names a channel given by id by its title, once the bot can read it.
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    groups: GroupCache

    async def execute(self, command: ProtectCommand) -> ProtectResult:
        """Check, then link and enable."""
        messenger, group_id = self.messenger, command.group_id
        await ensure_can_configure(messenger, group_id, command.caller)
        refs = [parse_channel_ref(text) for text in command.references]
        async with self.uow.begin(group_id) as tx:
            existing = await tx.groups.get(group_id)
        if not refs and (existing is None or not existing.channels):
            return ProtectResult(ProtectOutcome.NO_CHANNELS, existing)
        findings = list(await group_findings(messenger, group_id))
        infos: list[ChatInfo] = []
        for ref in refs:
            try:
                info = await messenger.chat(ref)
            except ChatNotFound:
                findings.append(Finding(Problem.NOT_FOUND, ref.channel_id, str(ref)))
                continue
            named = _named(ref, info)
            if info.kind is not ChatKind.CHANNEL:
                findings.append(Finding(Problem.NOT_A_CHANNEL, info.chat_id, named))
                continue
            infos.append(info)
            findings += await channel_findings(
                messenger, info.chat_id, has_username=bool(info.username), reference=named
            )
        if findings:
            return ProtectResult(ProtectOutcome.NEEDS_FIXES, existing, tuple(findings))
        channels = [await self._required(group_id, existing, info) for info in infos]
        return await self._save(command, existing, channels)

    async def _required(
        self, group_id: GroupId, existing: GroupPolicy | None, info: ChatInfo
    ) -> RequiredChannel:
        channel_id = ChannelId(info.chat_id)
        known = existing.channel(channel_id) if existing is not None else None
        link = known.invite_link if known is not None else None
        if info.username is None and link is None:
            name = f"Nezuko {group_id}"  # at most 32 characters, as Telegram requires
            link = await self.messenger.create_invite_link(channel_id, name)
        return RequiredChannel(channel_id, info.title, info.username, link)

    async def _save(
        self,
        command: ProtectCommand,
        existing: GroupPolicy | None,
        channels: list[RequiredChannel],
    ) -> ProtectResult:
        group_id = command.group_id
        before = set(existing.channel_ids) if existing is not None else set[ChannelId]()
        async with self.uow.begin(group_id) as tx:
            current = await tx.groups.get(group_id) or GroupPolicy(group_id)
            policy = attrs.evolve(current.linked(channels), title=command.group_title)
            await tx.groups.save(policy)
            await tx.audit.record(
                AuditEvent.by(
                    command.caller.user_id,
                    AuditKind.PROTECTED,
                    group_id,
                    self.clock.now(),
                    reason=reasons.CHANNELS.format(
                        channels=reasons.channel_list(policy.channel_ids)
                    ),
                )
            )
            await tx.commit()
        await self.groups.forget(group_id)
        added = tuple(c for c in policy.channel_ids if c not in before)
        return ProtectResult(ProtectOutcome.PROTECTED, policy, newly_linked=added)


def _named(ref: ChannelRef, info: ChatInfo) -> str:
    """How a finding names a chat the bot could read: by its title when given by a bare id."""
    return info.title if ref.username is None and info.title else str(ref)
