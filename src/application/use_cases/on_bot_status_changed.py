"""React to the bot's own standing changing in a group or channel (a my_chat_member update)."""

import enum

import attrs

from application.admin_notices import AdminNotices
from application.diagnosis import group_findings
from application.lookups import Lookups
from application.ports.caches import MembershipCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import Membership


@attrs.frozen
class BotStatusUpdate:
    """The bot went from `old` to `new` in a chat; `actor` made it happen."""

    chat_id: int
    is_channel: bool
    old: Membership
    new: Membership
    actor: UserId


class BotStatusOutcome(enum.StrEnum):
    """What the change came to."""

    IGNORED = "ignored"
    GROUP_READY = "group_ready"
    GROUP_NEEDS_RIGHTS = "group_needs_rights"
    CHANNEL_LOST = "channel_lost"


@attrs.frozen
class OnBotStatusChanged:
    """The bot added, removed, promoted or demoted.

    - In a group: the change is audited (for groups already set up) and, if the bot now lacks
      a right it needs, the admins are told once what is missing.
    - In a required channel: losing admin rights means membership checks there will fail;
      every group requiring the channel records it and its admins are told once (rule 8).
    """

    notices: AdminNotices
    lookups: Lookups
    memberships: MembershipCache
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock
    directory: TenantDirectory

    async def execute(self, update: BotStatusUpdate) -> BotStatusOutcome:
        """Record the change and warn the admins if the bot can no longer do its job."""
        if update.is_channel:
            return await self._in_channel(update)
        group_id = GroupId(update.chat_id)
        await self.memberships.forget_admins(group_id)
        if not update.new.is_present:
            await self._record(group_id, update, reasons.BOT_LEFT)
            return BotStatusOutcome.IGNORED
        await self._record(group_id, update, reasons.BOT_STATUS.format(status=update.new.status))
        if not await group_findings(self.messenger, group_id):
            return BotStatusOutcome.GROUP_READY
        await self.notices.cannot_restrict(group_id)
        return BotStatusOutcome.GROUP_NEEDS_RIGHTS

    async def _in_channel(self, update: BotStatusUpdate) -> BotStatusOutcome:
        if not update.old.is_admin or update.new.is_admin:
            return BotStatusOutcome.IGNORED
        channel_id = ChannelId(update.chat_id)
        for group_id in await self.directory.groups_requiring(channel_id):
            policy = (await self.lookups.snapshot(group_id)).policy
            if policy is None:
                continue
            reason = reasons.BOT_NO_LONGER_CHANNEL_ADMIN.format(channel=channel_id)
            await self._record(group_id, update, reason)
            await self.notices.report_unanswered(policy, (channel_id,))
        return BotStatusOutcome.CHANNEL_LOST

    async def _record(self, group_id: GroupId, update: BotStatusUpdate, reason: str) -> None:
        async with self.uow.begin(group_id) as tx:
            if await tx.groups.get(group_id) is None:  # not a tenant: nothing to record
                return
            await tx.audit.record(
                AuditEvent.by(
                    update.actor,
                    AuditKind.BOT_STATUS_CHANGED,
                    group_id,
                    self.clock.now(),
                    reason=reason,
                )
            )
            await tx.commit()
