"""A request to join a gated group, pending until the requester has joined every channel."""

from datetime import datetime

import attrs

from domain.ids import GroupId, MessageId, UserId
from domain.language import DEFAULT_LANGUAGE, Language


@attrs.frozen
class PendingJoinRequest:
    """Rule 14: a requester who had not joined every required channel when they asked.

    It lives until the gate approves it (the last channel joined, or Verify), declines it (the
    group's `join_gate_timeout`), or finds that Telegram no longer has it (an admin handled it).
    """

    group_id: GroupId
    user_id: UserId
    user_chat_id: int
    """The private chat Telegram lets the bot write to for 5 minutes after the request."""
    requested_at: datetime
    message_id: MessageId | None = None
    """The bot's private message listing what to join, once Telegram took it."""
    language: Language = DEFAULT_LANGUAGE
    """The requester's own language: the gate's private messages use it (rule 15)."""

    def messaged(self, message_id: MessageId) -> "PendingJoinRequest":
        """The same request, its private message sent."""
        return attrs.evolve(self, message_id=message_id)
