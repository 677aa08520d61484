"""Telling a group's admins what keeps the bot from doing its job, once per cooldown."""

import logging
from datetime import timedelta

import attrs

from application.audit_trail import record
from application.errors import MessengerError
from application.ports.clock import Clock
from application.ports.messenger import AdminNotice, Messenger, NoticeKind
from application.ports.throttle import Throttle
from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent
from domain.ids import ChannelId, GroupId
from domain.policy import GroupPolicy

log = logging.getLogger(__name__)

ADMIN_NOTICE_COOLDOWN = timedelta(hours=6)
"""Rule 8: admins hear about a failing channel once, not per message."""


@attrs.frozen
class AdminNotices:
    """Notices to admins, throttled per problem; sending one never fails the caller."""

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    throttle: Throttle

    async def report_unanswered(
        self, policy: GroupPolicy, unanswered: tuple[ChannelId, ...]
    ) -> None:
        """Audit a failing check and tell the admins, once per channel per cooldown (rule 8)."""
        for channel in policy.channels_of(unanswered):
            key = f"unanswered:{policy.group_id}:{channel.channel_id}"
            if not await self.throttle.allow(key, ADMIN_NOTICE_COOLDOWN):
                continue
            reason = f"failure policy {policy.settings.failure_policy}"
            await record(
                self.uow,
                AuditEvent.check_failed(
                    policy.group_id, self.clock.now(), channel.channel_id, reason
                ),
            )
            await self._notify(AdminNotice(policy.group_id, NoticeKind.CHECKS_FAILING, channel))

    async def cannot_restrict(self, group_id: GroupId) -> None:
        """Tell the admins the bot lacks the rights it needs in the group, once per cooldown."""
        if await self.throttle.allow(f"cannot-restrict:{group_id}", ADMIN_NOTICE_COOLDOWN):
            await self._notify(AdminNotice(group_id, NoticeKind.CANNOT_RESTRICT))

    async def _notify(self, notice: AdminNotice) -> None:
        try:
            await self.messenger.notify_admins(notice)
        except MessengerError as error:
            log.warning("notice.failed group=%s error=%s", notice.group_id, error)
