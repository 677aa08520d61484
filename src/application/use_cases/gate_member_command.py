"""Members cannot make the bot talk (issue 11, point 6).

A command a member may not run (an admin command typed by a member), and `/start` or `/help` in a
group, is deleted at once; the bot answers it at most once per member per `ANSWER_COOLDOWN`, so a
member typing commands in a loop cannot spend the group's 20-a-minute send budget.
"""

from datetime import timedelta

import attrs

from application.ports.messenger import Messenger
from application.ports.throttle import Throttle
from application.restrictions import delete_quietly
from domain.ids import GroupId, MessageId, UserId

ANSWER_COOLDOWN = timedelta(minutes=10)
"""How often one member's refused or help commands get an answer in one group."""


@attrs.frozen
class MemberCommand:
    """A command `user_id` sent in the group that the bot does not run for them."""

    group_id: GroupId
    user_id: UserId
    message_id: MessageId


@attrs.frozen
class GateMemberCommand:
    """Delete the command now; say whether it gets an answer (once per member per cooldown)."""

    messenger: Messenger
    throttle: Throttle

    async def execute(self, command: MemberCommand) -> bool:
        """True when this one is answered (the answer is deleted later, like any reply)."""
        await delete_quietly(self.messenger, command.group_id, command.message_id)
        key = f"member-command:{command.group_id}:{command.user_id}"
        return await self.throttle.allow(key, ANSWER_COOLDOWN)
