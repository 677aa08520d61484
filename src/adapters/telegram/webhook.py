"""Webhook deliveries into PTB: a JSON object becomes an `Update` in the application's queue."""

from collections.abc import Callable
from typing import Any

import attrs
from telegram import Update
from telegram.ext import Application

from adapters.intake import InvalidUpdate, JSONObject, NotAccepting


@attrs.define
class UpdateIntake:
    """Webhook updates into PTB's update queue, while the bot takes updates (a `TakeUpdate`).

    Attributes:
        application: Whose queue and bot to use.
        accepting: Set between the application's start and the beginning of its stop; before
            and after, deliveries are refused with `NotAccepting` (Telegram sends them again).
        room: Whether one more update may be taken now; deliveries are refused with
            `NotAccepting` while it says no (the database is away, or too many updates wait).
    """

    application: Application[Any, Any, Any, Any, Any, Any]
    accepting: bool = False
    room: Callable[[], bool] = lambda: True

    async def __call__(self, data: JSONObject) -> None:
        """Parse one update and queue it.

        Raises:
            NotAccepting: The bot is starting or stopping, or has no room for the update.
            InvalidUpdate: The object is not an update.
        """
        if not (self.accepting and self.room()):
            raise NotAccepting
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise InvalidUpdate("no integer update_id")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as error:  # PTB raises whatever a malformed field happens to trigger
            raise InvalidUpdate(f"{type(error).__name__} {error}"[:200]) from error
        await self.application.update_queue.put(update)
