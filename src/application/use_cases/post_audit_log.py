"""Post a group's new audit events to its log channel, several to a message (`/setlog`)."""

import logging

import attrs

from application.errors import MessengerError, MessengerUnavailable
from application.ports.clock import Clock
from application.ports.messenger import LogBatch, Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import GroupId
from domain.language import group_language

log = logging.getLogger(__name__)

EVENTS_PER_POST = 20
"""Events in one message: well within Telegram's 4,096 characters."""


@attrs.frozen
class LogReport:
    """What one round in a group came to."""

    posted: int = 0
    """Events posted."""
    refused: bool = False
    """The bot cannot post to the log channel: posting was switched off, and audited."""


@attrs.frozen
class PostAuditLog:
    """Issue 11 point 4: the audit trail, live, in the group's log channel.

    - The events recorded since the last post (the group's log cursor) go out as one message,
      oldest first; the loop that runs this posts at most one message per group every few
      seconds, which keeps a channel within its 20 messages a minute however busy the group.
    - Durable: the events are in the trail and the cursor moves only once Telegram took the
      message, so a restart or an outage posts them later (rule 10).
    - Telegram unable to take it now: tried again next round. A refusal (the bot is no longer
      an admin who may post there) switches posting off and says so in the audit trail, which
      `/log` and `/check` show; `/setlog` turns it on again.
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock

    async def execute(self, group_id: GroupId) -> LogReport:
        """Post the next batch of the group's events, if it has a log channel and any."""
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
            cursor = await tx.groups.log_cursor(group_id)
            batch = await tx.audit.after(group_id, cursor, EVENTS_PER_POST)
        if policy is None or policy.log_channel is None or not batch:
            return LogReport()
        channel = policy.log_channel
        events = tuple(event for _, event in batch)
        try:
            language = group_language(policy.settings.language)
            batch_ = LogBatch(channel.channel_id, policy.title, events, language)
            await self.messenger.post_log(batch_)
        except MessengerUnavailable as error:
            log.info("log.deferred group=%s error=%s", group_id, error)
            return LogReport()
        except MessengerError as error:
            await self._refused(group_id, channel.channel_id, error)
            return LogReport(refused=True)
        async with self.uow.begin(group_id) as tx:
            await tx.groups.set_log_cursor(group_id, batch[-1][0])
            await tx.commit()
        return LogReport(posted=len(events))

    async def _refused(self, group_id: GroupId, channel_id: int, error: MessengerError) -> None:
        log.warning("log.refused group=%s channel=%s error=%s", group_id, channel_id, error)
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
            if policy is None:
                return
            await tx.groups.save(policy.logging_to(None))
            reason = reasons.LOG_CHANNEL_REFUSED.format(channel=channel_id, error=error)
            await tx.audit.record(
                AuditEvent.action_failed(group_id, self.clock.now(), None, reason)
            )
            await tx.commit()
