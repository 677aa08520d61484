"""Delete messages later, through the persisted schedule (command replies, notices)."""

from datetime import timedelta

import attrs

from application.enforcement import Enforcer
from domain.ids import GroupId, MessageId
from domain.schedule import ActionKind

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

    enforcer: Enforcer

    async def execute(self, command: ScheduleDeletionCommand) -> None:
        """Store one deletion per message."""
        group_id = command.group_id
        async with self.enforcer.uow.begin(group_id) as tx:
            for message_id in command.message_ids:
                await tx.actions.add(
                    self.enforcer.action(
                        group_id,
                        ActionKind.DELETE_MESSAGE,
                        after=command.after,
                        message_id=message_id,
                    )
                )
            await tx.commit()
