"""How a webhook delivery reaches the bot: the contract of `adapters.http` and `adapters.telegram`.

The HTTP server parses a delivery's body into a JSON object and hands it to a `TakeUpdate`
callable; the Telegram adapter provides one (`adapters.telegram.webhook.UpdateIntake`). The two
families do not import each other: both import this module, and the composition root connects
them.
"""

from collections.abc import Awaitable, Callable
from typing import Any

type JSONObject = dict[str, Any]
type TakeUpdate = Callable[[JSONObject], Awaitable[bool]]
"""Takes one update's JSON object for handling: True if it will be handled, False if it is
well-formed but of a kind the bot ignores; raises `InvalidUpdate` or `NotAccepting`."""


class InvalidUpdate(Exception):
    """The JSON object is not a structurally valid Telegram update; the message says why."""


class NotAccepting(Exception):
    """Updates are not taken right now (the bot is starting or stopping); send it again later."""
