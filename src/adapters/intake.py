"""How an update reaches the bot: the contracts between adapter families.

The HTTP server parses a delivery's body into a JSON object and hands it to a `TakeUpdate`
callable; the Telegram adapter provides one (`adapters.telegram.webhook.UpdateIntake`). Every
update taken from Telegram is kept in an `UpdateJournal` (PostgreSQL's, or memory's) before
Telegram is told it arrived. In polling mode only the process holding the bot's `PollingLock`
takes updates; another one stands by. The families do not import each other: they import this
module, and the composition root connects them.
"""

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, Protocol

type JSONObject = dict[str, Any]
type TakeUpdate = Callable[[JSONObject], Awaitable[bool]]
"""Takes one update's JSON object for handling: True if it will be handled, False if it is
well-formed but of a kind the bot ignores; raises `InvalidUpdate` or `NotAccepting`."""


class InvalidUpdate(Exception):
    """The JSON object is not a structurally valid Telegram update; the message says why."""


class NotAccepting(Exception):
    """Updates are not taken right now (the bot is starting or stopping); send it again later."""


class UpdateJournal(Protocol):
    """The updates taken from Telegram and not handled yet, kept durably (rule 10).

    An update is kept before Telegram is told it arrived (the next getUpdates' offset, or the
    200 that answers a webhook delivery), and marked handled once handled; what a stop or a
    crash left unhandled is handled after the next start. Every method raises
    `application.errors.StorageError` when the storage does not answer.
    """

    async def keep(self, updates: Sequence[JSONObject]) -> frozenset[int]:
        """Keep these updates; return the ids of those not kept before (the others are known)."""
        ...

    async def mark_handled(self, update_ids: Collection[int]) -> None:
        """Forget these updates' contents: they are handled."""
        ...

    async def leftovers(self) -> list[JSONObject]:
        """Every kept update not marked handled, oldest first."""
        ...


class PollingLock(Protocol):
    """The right to poll Telegram with this bot's token, held by one process at a time.

    A second process polling with the same token on the same database stands by until the
    first one releases the lock or dies (its lock goes with it). No method raises: a storage
    that does not answer means the lock is not held.
    """

    async def acquire(self) -> bool:
        """Try once to take the lock (without waiting for it); whether it is held now."""
        ...

    async def still_held(self) -> bool:
        """Whether the lock taken is still held (False once its connection is lost)."""
        ...

    async def release(self) -> None:
        """Give the lock up (nothing when it is not held)."""
        ...


class NoPollingLock:
    """A `PollingLock` always free: state kept in memory has no one to share the token with."""

    async def acquire(self) -> bool:
        return True

    async def still_held(self) -> bool:
        return True

    async def release(self) -> None:
        return None
