"""Somebody touched a warning of the bot's that no member holds as theirs any more: delete it."""

import logging
from datetime import datetime, timedelta

import attrs

from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.restrictions import delete_quietly
from domain.ids import GroupId, MessageId

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=5)
"""A warning posted more recently may be one the sender has just posted and not yet recorded."""


@attrs.frozen
class StaleWarningCommand:
    """Somebody pressed the Verify button of the bot's warning `message_id`, or replied to it."""

    group_id: GroupId
    message_id: MessageId
    posted_at: datetime
    """When Telegram says the bot posted it."""


@attrs.frozen
class RetireStaleWarning:
    """Rule 11: a warning whose send timed out is treated as possibly delivered.

    - The paced sender sends a warning that timed out again, so the member surely gets one.
      The copy the timed-out send may have delivered after all (an orphan) has an id the bot
      never learnt, and the Bot API cannot look a message up: it shows itself only when
      somebody presses its Verify button or replies to it.
    - Then a warning of the bot's that is no member's current warning (an orphan, or any
      warning left behind) is deleted, after the press or the message has been handled as
      usual. A current warning, merged ones included, stays.
    - A warning posted less than `STALE_AFTER` ago stays: the sender may not have recorded
      yet whom it warns.
    - An orphan nobody touches stays (until an admin deletes it).
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock

    async def execute(self, command: StaleWarningCommand) -> bool:
        """Delete the warning if it is stale; return whether it was."""
        group_id, message_id = command.group_id, command.message_id
        if self.clock.now() - command.posted_at < STALE_AFTER:
            return False
        async with self.uow.begin(group_id) as tx:
            named = await tx.restrictions.warned_by(group_id, message_id)
        if named:
            return False
        log.info("warning.stale_deleted", extra={"group": group_id, "message_id": message_id})
        await delete_quietly(self.messenger, group_id, message_id)
        return True
