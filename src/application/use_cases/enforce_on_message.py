"""Enforce the rules on a member who wrote in a group."""

import attrs

from application.enforcement import Enforcement, Enforcer
from application.ports.messenger import WarningReason
from domain.ids import GroupId, MessageId
from domain.senders import Person, Sender


@attrs.frozen
class EnforceOnMessageCommand:
    """A message (new or edited) in a group."""

    group_id: GroupId
    sender: Sender
    sender_name: str
    message_id: MessageId
    thread_id: int | None = None


@attrs.frozen
class EnforceOnMessage:
    """Rule 3 on the message path.

    - Unprotected groups, exempt senders (rule 4) and subscribed members pass untouched; in
      steady state this costs no Telegram call and no database round trip (DESIGN §5).
    - A member missing a channel has the message deleted, is muted and warned.
    - Messages sent on behalf of another chat are deleted: there is no person to mute.
    - When Telegram cannot answer, the group's failure policy decides (rule 8).
    """

    enforcer: Enforcer

    async def execute(self, command: EnforceOnMessageCommand) -> Enforcement:
        """Judge the sender and act."""
        member = Person(command.sender.user_id, command.sender_name, command.sender.is_bot)
        return await self.enforcer.enforce(
            command.group_id,
            command.sender,
            member,
            WarningReason.SPOKE,
            message_id=command.message_id,
            thread_id=command.thread_id,
        )
