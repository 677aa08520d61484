"""Telling a group's admins what keeps the bot from doing its job, once per cooldown.

Rule 11: a notice is a durable intent (`ActionKind.SEND_NOTICE`), stored with the audit row that
explains it; the paced sender (`SendNotices`) posts it after the group's warnings. Nothing here
waits on Telegram.
"""

from datetime import timedelta

import attrs

from application.ports.clock import Clock
from application.ports.outbox import Outbox
from application.ports.throttle import Throttle
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import ChannelId, GroupId
from domain.notices import NoticeKind
from domain.policy import GroupPolicy
from domain.schedule import ScheduledAction, notice_intent

ADMIN_NOTICE_COOLDOWN = timedelta(hours=6)
"""Rule 8: admins hear about a failing channel once, not per message."""


@attrs.frozen
class AdminNotices:
    """Notices to admins, throttled per problem when they are stored.

    Storing one never waits on Telegram; sending it is the paced sender's (`SendNotices`).
    """

    uow: UnitOfWork
    clock: Clock
    throttle: Throttle
    outbox: Outbox

    async def report_unanswered(
        self, policy: GroupPolicy, unanswered: tuple[ChannelId, ...]
    ) -> None:
        """Audit a failing check and tell the admins, once per channel per cooldown (rule 8)."""
        for channel in policy.channels_of(unanswered):
            key = f"unanswered:{policy.group_id}:{channel.channel_id}"
            if not await self.throttle.allow(key, ADMIN_NOTICE_COOLDOWN):
                continue
            now = self.clock.now()
            reason = reasons.CHECK_FAILED.format(policy=policy.settings.failure_policy)
            failed = AuditEvent.check_failed(policy.group_id, now, channel.channel_id, reason)
            intent = notice_intent(
                policy.group_id, NoticeKind.CHECKS_FAILING, now, channel.channel_id
            )
            await self._store(policy.group_id, intent, failed)

    async def cannot_restrict(self, group_id: GroupId, failure: AuditEvent | None = None) -> None:
        """Tell the admins the bot lacks the rights it needs in the group, once per cooldown.

        `failure`, the audit row of what the missing rights made fail, is recorded in any case,
        in the same transaction as the notice when there is one.
        """
        intent = None
        if await self.throttle.allow(f"cannot-restrict:{group_id}", ADMIN_NOTICE_COOLDOWN):
            intent = notice_intent(group_id, NoticeKind.CANNOT_RESTRICT, self.clock.now())
        await self._store(group_id, intent, failure)

    async def _store(
        self, group_id: GroupId, intent: ScheduledAction | None, event: AuditEvent | None
    ) -> None:
        if intent is None and event is None:
            return
        async with self.uow.begin(group_id) as tx:
            if event is not None:
                await tx.audit.record(event)
            if intent is not None:
                await tx.actions.add(intent)
            await tx.commit()
        if intent is not None:
            self.outbox.wake(group_id)
