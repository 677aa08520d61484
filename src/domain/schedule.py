"""Work the bot must do later (rule 10: it lives in the database, not in process memory)."""

import enum
import uuid
from datetime import datetime, timedelta

import attrs

from domain.ids import GroupId, MessageId, UserId


class ActionKind(enum.StrEnum):
    """What a scheduled action does when it falls due."""

    DELETE_MESSAGE = "delete_message"
    KICK_UNVERIFIED = "kick_unverified"
    """Remove the member if the bot's restriction is still in place."""
    LIFT_RESTRICTION = "lift_restriction"
    """Lift the bot's own restriction (after /unprotect, /unlink or /exempt)."""


@attrs.frozen
class ScheduledAction:
    """One piece of deferred work in one group."""

    action_id: uuid.UUID
    group_id: GroupId
    kind: ActionKind
    due_at: datetime
    user_id: UserId | None = None
    message_id: MessageId | None = None
    attempts: int = 0

    def retried(self, at: datetime) -> "ScheduledAction":
        """The same action, due again at `at` after one more failed attempt."""
        return attrs.evolve(self, due_at=at, attempts=self.attempts + 1)


MAX_ATTEMPTS = 5
"""Attempts before a failing action is given up (and the failure audited)."""


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff before the next attempt: 10 s, 20 s, 40 s, … capped at 10 minutes."""
    return min(timedelta(seconds=10 * 2**attempts), timedelta(minutes=10))
