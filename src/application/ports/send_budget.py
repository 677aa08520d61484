"""The bot's outgoing send budget, shared by every process of the bot (issue 15)."""

import enum
from abc import abstractmethod
from typing import Protocol

import attrs


class Priority(enum.IntEnum):
    """Which sends go first when they queue up (issue 10, rule 11): the lower, the sooner."""

    ANSWER = 0
    """Replies to people: commands, button presses (the default)."""
    WARNING = 1
    NOTICE = 2


@attrs.frozen
class BucketRate:
    """A leaky bucket: up to `burst` sends at once, then `per_second` sustained."""

    burst: float
    per_second: float


@attrs.frozen
class SendRates:
    """How fast the whole bot may send: all chats together, into one group, into one chat."""

    overall: BucketRate
    per_group: BucketRate
    per_chat: BucketRate


@attrs.frozen
class Booking:
    """What asking to send came to: `booked` at `wait` seconds from now, or ask again then."""

    wait: float
    booked: bool


class SendBudget(Protocol):
    """Telegram's sending limits, counted once for the whole bot however many processes run.

    Every method raises `application.errors.StorageError` when the shared store does not
    answer (the caller then paces with what it knows alone).
    """

    @abstractmethod
    async def book(self, chat: str, *, group: bool, priority: Priority) -> Booking:
        """Book the next send into `chat` (a group or channel if `group`), of `priority`.

        A send of priority `p` (0 for answers, 1 for warnings, 2 for notices) leaves `p`
        sends of the overall bucket's burst free now for the higher priorities (it keeps at
        least one to itself); warnings and notices alike leave the last send of the group's
        burst to answers; the chat's own bucket is the same for every priority.

        When no hold (`hold`) is on the chat, the chat's bucket allows a send now and the
        group's allows one of `priority` now, then:
        - an answer books the earliest moment the overall bucket allows, ahead of now if its
          burst is used up (answers are first come, first served among themselves, across
          processes), and sends then without asking again;
        - a warning or a notice books only if the overall bucket allows one of its priority
          now (a notice, only if no warning refused before it is still to ask again); if
          not, nothing is booked and `wait` is the moment to ask again: the first moment the
          bucket could allow it, or later, one `1 / per_second` after another, so that the
          warnings refused in a congestion ask again one at a time rather than all at once,
          and the notices after them.
        Otherwise nothing is booked, and `wait` says when to ask again. Under congestion the
        capacity goes to answers first, then warnings, then notices; with room, every priority
        books at once. Each process orders its own sends into a chat by priority before it
        books.
        """

    @abstractmethod
    async def hold(self, chat: str, seconds: float) -> None:
        """Telegram asked to wait `seconds` before the next send into `chat`.

        No process of the bot claims a send there before then.
        """
