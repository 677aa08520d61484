"""How an update reaches the bot: the contracts between adapter families.

The HTTP server parses a delivery's body into a JSON object and hands it to a `TakeUpdate`
callable; the Telegram adapter provides one (`adapters.telegram.webhook.UpdateIntake`). Every
update taken from Telegram is kept in an `UpdateJournal` (PostgreSQL's, or memory's) before
Telegram is told it arrived. The families do not import each other: they import this module,
and the composition root connects them.
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
