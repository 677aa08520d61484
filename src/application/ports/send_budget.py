"""The bot's outgoing send budget, shared by every process of the bot (issue 15)."""

from abc import abstractmethod
from typing import Protocol

import attrs


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
    async def book(self, chat: str, *, group: bool) -> Booking:
        """Book the next send into `chat` (a group or channel if `group`).

        When the chat's bucket and the group's allow a send now and no hold (`hold`) is on
        the chat, the earliest moment the overall bucket allows is booked (first come, first
        served across processes) and counted then: the caller sends at that moment, without
        asking again. Otherwise nothing is booked, and `wait` says when to ask again. Each
        process orders its own sends into a chat by priority before it books.
        """

    @abstractmethod
    async def hold(self, chat: str, seconds: float) -> None:
        """Telegram asked to wait `seconds` before the next send into `chat`.

        No process of the bot claims a send there before then.
        """
