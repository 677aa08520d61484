"""How PTB runs each update: concurrently, counted by type, timed, and logged with its ids."""

import asyncio
import inspect
import time
from collections.abc import Awaitable
from typing import Any

import structlog
from telegram import Update
from telegram.ext import SimpleUpdateProcessor

from adapters.metrics import HANDLING_SECONDS, UPDATES
from adapters.telegram.backpressure import TakenUpdates
from adapters.telegram.updates import log_context, update_type


class MeasuredUpdateProcessor(SimpleUpdateProcessor):
    """PTB's update processor (`ApplicationBuilder.concurrent_updates`), measuring each update.

    It counts every update the application handles and times its handling. Every log line
    written while an update is handled carries its id, tenant and user (bound as context
    variables: each update PTB handles concurrently runs in its own task, so one update's ids
    never reach another's lines). The time covers every handler group and the error handler,
    not the wait in the queue nor for a free slot among `max_concurrent_updates`.

    Each update is marked finished in `taken` (the fetch-ahead window) once handled, and the
    tasks of the updates not handled yet can be cancelled when a stop runs out of time.
    """

    __slots__ = ("_abandoning", "_handling", "taken")

    def __init__(self, max_concurrent_updates: int, taken: TakenUpdates | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self.taken = taken if taken is not None else TakenUpdates(max_concurrent_updates)
        self._handling: set[asyncio.Task[Any]] = set()
        self._abandoning = False

    def cancel_unhandled(self) -> int:
        """Give up every update not handled yet: cancel those being handled, skip the others.

        Returns how many were being handled. Each is marked finished, unhandled, in `taken`.
        """
        self._abandoning = True
        for task in self._handling:
            task.cancel()
        return len(self._handling)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle one update, as PTB does, counted by type, timed, and logged with its ids."""
        task = asyncio.current_task()
        handled = False
        try:
            if self._abandoning or task is None:
                return
            self._handling.add(task)
            kind = update_type(update)
            UPDATES.labels(kind).inc()
            started = time.perf_counter()
            try:
                with structlog.contextvars.bound_contextvars(**log_context(update)):
                    await coroutine
                handled = True
            finally:
                HANDLING_SECONDS.labels(kind).observe(time.perf_counter() - started)
        finally:
            if task is not None:
                self._handling.discard(task)
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # given up before it ran: close it unawaited, quietly
            if isinstance(update, Update):
                self.taken.finish(update.update_id, handled=handled)
