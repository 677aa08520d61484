"""Cache invalidation across the bot's processes (issue 15: several workers as one bot)."""

import enum
from abc import abstractmethod
from typing import Protocol

import attrs

from domain.ids import ChannelId, GroupId, UserId


class Cached(enum.StrEnum):
    """What an invalidation drops."""

    GROUP = "group"
    """A group's snapshot: its policy, its settings, its exemptions, its raid."""
    ADMINS = "admins"
    """A group's administrators."""
    MEMBERSHIP = "membership"
    """A member's standing in a channel."""
    JOIN_RATE = "join_rate"
    """A group's join rate (rule 13): not dropped, but one more join of a member who must be
    muted, counted by another process (a raid starts at the whole bot's rate)."""


@attrs.frozen
class Invalidation:
    """One cached entry every other process must drop.

    `group_id` names it for `GROUP`, `ADMINS` and `JOIN_RATE`; `channel_id` and `user_id` for
    `MEMBERSHIP`.
    """

    cached: Cached
    group_id: GroupId | None = None
    channel_id: ChannelId | None = None
    user_id: UserId | None = None


class Invalidations(Protocol):
    """Tells the bot's other processes what changed, so that their caches drop it."""

    @abstractmethod
    async def publish(self, invalidation: Invalidation) -> None:
        """Have every other process of the bot drop the entry within a second.

        Best effort: a failure (the database does not answer) is logged, never raised; the
        other processes then see the change when the entry expires, or sooner (while their
        own notification connection is down, they hold nothing older than a second).
        """
