"""PTB's application as the bot runs it: the updates it asks for, each counted, timed, logged."""

import time
from typing import Any

import structlog
from telegram import Update
from telegram.ext import Application

from adapters.metrics import HANDLING_SECONDS, UPDATES

ALLOWED_UPDATES = (
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.CHAT_MEMBER,
    Update.MY_CHAT_MEMBER,
    Update.CHAT_JOIN_REQUEST,
)
"""DESIGN §7: chat_member in particular is only delivered when asked for."""


def update_type(update: object) -> str:
    """The kind of an update, one of `ALLOWED_UPDATES` or "other" (a bounded metric label)."""
    if isinstance(update, Update):
        for kind in ALLOWED_UPDATES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


def log_context(update: object) -> dict[str, int]:
    """What every log line of one update carries: its id, the tenant (chat) and the user."""
    if not isinstance(update, Update):
        return {}
    context = {"update_id": update.update_id}
    if update.effective_chat is not None:
        context["tenant"] = update.effective_chat.id
    if update.effective_user is not None:
        context["user"] = update.effective_user.id
    return context


class MeasuredApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's application, counting every update it handles and timing its handling.

    Every log line written while an update is handled carries its id, tenant and user (bound
    as context variables: each update PTB handles concurrently runs in its own task, so one
    update's ids never reach another's lines). The time covers every handler group and the
    error handler, not the wait in the queue.
    """

    async def process_update(self, update: object) -> None:
        """Handle one update, as PTB does, counted by type, timed, and logged with its ids."""
        kind = update_type(update)
        UPDATES.labels(kind).inc()
        started = time.perf_counter()
        try:
            with structlog.contextvars.bound_contextvars(**log_context(update)):
                await super().process_update(update)
        finally:
            HANDLING_SECONDS.labels(kind).observe(time.perf_counter() - started)
