"""Delete messages later, through the persisted schedule (command replies, notices)."""

from datetime import timedelta

import attrs

from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork
from domain.ids import GroupId, MessageId
from domain.schedule import deletion

REPLY_LIFETIME = timedelta(minutes=1)
"""How long the bot's replies to commands stay in a group."""


@attrs.frozen
class ScheduleDeletionCommand:
    """Delete these messages of the group after `after`."""

    group_id: GroupId
    message_ids: tuple[MessageId, ...]
    after: timedelta = REPLY_LIFETIME


@attrs.frozen
class ScheduleDeletion:
    """Rule 10: deletions survive restarts because they are stored, not timers in memory."""

    uow: UnitOfWork
    clock: Clock

    async def execute(self, command: ScheduleDeletionCommand) -> None:
        """Store one deletion per message."""
        group_id = command.group_id
        due_at = self.clock.now() + command.after
        async with self.uow.begin(group_id) as tx:
            for message_id in command.message_ids:
                await tx.actions.add(deletion(group_id, message_id, due_at))
            await tx.commit()
