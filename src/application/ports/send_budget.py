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


class SendBudget(Protocol):
    """Telegram's sending limits, counted once for the whole bot however many processes run.

    Every method raises `application.errors.StorageError` when the shared store does not
    answer (the caller then paces with what it knows alone).
    """

    @abstractmethod
    async def claim(self, chat: str, *, group: bool, priority: int) -> float:
        """Take one send into `chat` (a group or channel if `group`); 0.0 once taken.

        Otherwise nothing is taken and the answer is how many seconds to wait before asking
        again: until the chat's, the group's and the overall bucket each hold a send, and any
        hold (`hold`) on the chat is over. While a send of a lower `priority` number waits for
        the chat, sends of a higher number into it wait behind it (answers before warnings
        before notices, across processes).
        """

    @abstractmethod
    async def hold(self, chat: str, seconds: float) -> None:
        """Telegram asked to wait `seconds` before the next send into `chat`.

        No process of the bot claims a send there before then.
        """
