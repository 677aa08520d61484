"""How PTB runs each update: concurrently, counted by type, timed, and logged with its ids."""

import asyncio
import collections
import inspect
import time
from collections.abc import Awaitable
from typing import Any

from telegram.ext import SimpleUpdateProcessor

from adapters.metrics import UPDATE_TYPES, update_series
from adapters.telegram.backpressure import TakenUpdates
from adapters.telegram.lost_sends import LostSends
from adapters.telegram.updates import HANDLED, chat_and_message_of, update_id_of, update_type

_SERIES = {kind: update_series(kind) for kind in UPDATE_TYPES}
"""Each update type's counter and histogram, looked up once, not per update."""

_UNGATED = 1 << 16
"""PTB's own gate, opened wide: `FairSlots` does the gating."""


class FairSlots:
    """At most `size` holders at once; waiters are admitted round-robin by chat.

    A raid's backlog in one group then delays another group's update by about one handling,
    not by the whole backlog (issue 10: an admin elsewhere is answered within 2 s). Within a
    chat, updates are admitted in arrival order.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._held = 0
        self._waiting: dict[object, collections.deque[asyncio.Future[None]]] = {}
        self._turns: collections.deque[object] = collections.deque()

    def slot(self, chat: object) -> "_Slot":
        """Hold a slot for an update of `chat` while the block runs (`async with`)."""
        return _Slot(self, chat)

    async def acquire(self, chat: object) -> None:
        """Take a slot for an update of `chat`, waiting for the chat's turn when all are held."""
        if self._held < self.size and not self._turns:
            self._held += 1
            return
        admitted = asyncio.get_running_loop().create_future()
        queue = self._waiting.get(chat)
        if queue is None:
            queue = self._waiting[chat] = collections.deque()
            self._turns.append(chat)
        queue.append(admitted)
        try:
            await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():
                self.release()  # the slot was handed over as the waiter was cancelled
            elif admitted in queue:
                queue.remove(admitted)
                if not queue:
                    del self._waiting[chat]
                    self._turns.remove(chat)
            raise

    def release(self) -> None:
        """Give a slot back: to the next chat's waiter in turn, or free."""
        while self._turns:
            chat = self._turns.popleft()
            queue = self._waiting[chat]
            admitted = queue.popleft()
            if queue:
                self._turns.append(chat)  # its next update waits for its next turn
            else:
                del self._waiting[chat]
            if not admitted.done():
                admitted.set_result(None)  # the slot passes on: `_held` stays
                return
        self._held -= 1


class _Slot:
    """`FairSlots.slot`'s context manager: a class, not a generator (one per update)."""

    __slots__ = ("_chat", "_slots")

    def __init__(self, slots: FairSlots, chat: object) -> None:
        self._slots = slots
        self._chat = chat

    async def __aenter__(self) -> None:
        await self._slots.acquire(self._chat)

    async def __aexit__(self, *_: object) -> None:
        self._slots.release()


class MeasuredUpdateProcessor(SimpleUpdateProcessor):
    """PTB's update processor (`ApplicationBuilder.concurrent_updates`), measuring each update.

    It counts every update the application handles and times its handling. Every log line
    written while an update is handled carries its id, tenant and user (bound as context
    variables: each update PTB handles concurrently runs in its own task, so one update's ids
    never reach another's lines). The time covers every handler group and the error handler,
    not the wait in the queue nor for a free slot among `max_concurrent_updates`.

    Each update is marked finished in `taken` (and so, soon, in the journal) once handled; the
    tasks of the updates not handled yet can be cancelled when a stop runs out of time.
    """

    __slots__ = ("_abandoning", "_handling", "_slots", "lost", "taken")

    def __init__(self, max_concurrent_updates: int, taken: TakenUpdates | None = None) -> None:
        # PTB's own gate (a FIFO semaphore in its final `process_update`) is opened wide; the
        # fair one below admits `max_concurrent_updates` at a time, chats taking turns.
        super().__init__(_UNGATED)
        self._slots = FairSlots(max_concurrent_updates)
        self.taken = taken if taken is not None else TakenUpdates(max_concurrent_updates)
        self._handling: set[asyncio.Task[Any]] = set()
        self._abandoning = False
        self.lost: LostSends | None = None
        """Told of every message received (the messenger's `lost`, set by the composition root)."""

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
            chat_id, message_id = chat_and_message_of(update)
            if chat_id is not None and message_id is not None and self.lost is not None:
                self.lost.saw(chat_id, message_id)
            async with self._slots.slot(chat_id):
                if self._abandoning:
                    return
                self._handling.add(task)
                await self._measured(update, coroutine)
                handled = True
        finally:
            if task is not None:
                self._handling.discard(task)
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # given up before it ran: close it unawaited, quietly
            update_id = update_id_of(update)
            if update_id is not None:
                self.taken.finish(update_id, handled=handled)

    @staticmethod
    async def _measured(update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handling, counted by type, timed, and logged with the update's ids."""
        counted, timed = _SERIES[update_type(update)]
        counted()
        started = time.perf_counter()
        # The update's own task: its context variables are its own, reset on leaving anyway.
        token = HANDLED.set(update)
        try:
            await coroutine
        finally:
            HANDLED.reset(token)
            timed.observe(time.perf_counter() - started)
