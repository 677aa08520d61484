"""How PTB runs each update: concurrently, counted by type, timed, and logged with its ids."""

import time
from collections.abc import Awaitable
from typing import Any

import structlog
from telegram.ext import SimpleUpdateProcessor

from adapters.metrics import HANDLING_SECONDS, UPDATES
from adapters.telegram.updates import log_context, update_type


class MeasuredUpdateProcessor(SimpleUpdateProcessor):
    """PTB's update processor (`ApplicationBuilder.concurrent_updates`), measuring each update.

    It counts every update the application handles and times its handling. Every log line
    written while an update is handled carries its id, tenant and user (bound as context
    variables: each update PTB handles concurrently runs in its own task, so one update's ids
    never reach another's lines). The time covers every handler group and the error handler,
    not the wait in the queue nor for a free slot among `max_concurrent_updates`.
    """

    __slots__ = ()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle one update, as PTB does, counted by type, timed, and logged with its ids."""
        kind = update_type(update)
        UPDATES.labels(kind).inc()
        started = time.perf_counter()
        try:
            with structlog.contextvars.bound_contextvars(**log_context(update)):
                await coroutine
        finally:
            HANDLING_SECONDS.labels(kind).observe(time.perf_counter() - started)
