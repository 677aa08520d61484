"""Backpressure: updates are retried through a database outage, and intake pauses meanwhile.

An update whose handling failed with a `StorageError` is not given up: its handler callback
runs again once the database answers (`RetriedOnStorageFailure`), so an update already taken
from Telegram is never lost to an outage or to the pool's checkout timeout. While the database
does not answer, `StorageGate.open` is cleared and no new update is taken (long polling waits,
webhook deliveries are refused with 503 and sent again by Telegram); it is set again when the
database answers a probe.

Every update taken is first kept in the intake journal (`Journaling`, over an `UpdateJournal`),
then confirmed to Telegram, and marked handled in the journal a moment after it is handled; what
a stop or a crash left unhandled is handled after the next start. `TakenUpdates` bounds what one
process holds in memory at once.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import attrs
from telegram.ext import ContextTypes

from adapters.intake import JSONObject, UpdateJournal
from adapters.telegram.updates import update_id_of
from application.errors import StorageError

log = logging.getLogger(__name__)

type Probe = Callable[[], Awaitable[bool]]
"""Whether the database answers a trivial query now; bounded in time, never raises."""
type Callback = Callable[[Any, ContextTypes.DEFAULT_TYPE], Awaitable[Any]]
"""A handler's callback: PTB's `Update`, or a `PlainTalk` (`plain_talk.py`), and the context."""

FIRST_DELAY = 0.1
"""Seconds before the first probe of a database that stopped answering."""
MAX_DELAY = 2.0
"""The longest wait between two probes (the backoff doubles up to it)."""
MARK_INTERVAL = 0.2
"""Seconds between two marks of handled updates in the journal (one statement for them all)."""
RETRIES_WHILE_ANSWERING = 5
"""Retries of one update whose storage failure was not an outage (the database answered at
once): a conflict or a dropped connection is worth a few; a failure that repeats with the
database up is a bug, and goes to the error handler instead of blocking its slot forever."""


async def _always_answers() -> bool:
    return True


@attrs.define
class StorageGate:
    """Whether the database answers, as the updates being handled found it.

    Attributes:
        probe: Asks the database (the bot in memory mode has none: it always answers).
        open: Set while the database answers; intake takes no update while it is clear.
        first_delay: Seconds before asking again a database that did not answer.
        max_delay: The longest wait between two probes, or two retries (the backoff doubles).
    """

    probe: Probe = _always_answers
    first_delay: float = FIRST_DELAY
    max_delay: float = MAX_DELAY
    open: asyncio.Event = attrs.field(factory=asyncio.Event)
    _lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    _answered_at: float = float("-inf")
    _reopened_at: float = float("-inf")

    def __attrs_post_init__(self) -> None:
        self.open.set()

    async def recovered(self, failures: int) -> bool:
        """Wait until the database answers after a storage failure; whether to try again.

        Probes with backoff until the database answers (concurrent callers share the probes:
        one probes, the others wait for its answer), closing the gate while it does not.
        Returns False only when the database kept answering and the same update failed more
        than `RETRIES_WHILE_ANSWERING` times: that failure is not an outage.
        """
        failed_at = time.monotonic()
        async with self._lock:
            if self._answered_at < failed_at:  # nobody asked the database since this failure
                delay = self.first_delay
                while not await self.probe():
                    if self.open.is_set():
                        self.open.clear()
                        log.warning("storage.outage intake paused until the database answers")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_delay)
                self._answered_at = time.monotonic()
                if not self.open.is_set():
                    self.open.set()
                    self._reopened_at = self._answered_at
                    log.warning("storage.recovered intake resumes")
        if self._reopened_at >= failed_at:  # it was an outage, and it is over
            return True
        if failures > RETRIES_WHILE_ANSWERING:
            return False
        await asyncio.sleep(min(self.first_delay * 2**failures, self.max_delay))
        return True


@attrs.frozen
class RetriedOnStorageFailure:
    """A handler callback run again after a storage failure, until it succeeds.

    The use cases are written to be re-run: what they did before the failure (a deletion, a
    restriction, a remembered row) is done again harmlessly or found done.
    """

    callback: Callback
    gate: StorageGate

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> Any:
        """Run the callback; on a storage failure wait for the database and run it again."""
        failures = 0
        while True:
            try:
                return await self.callback(update, context)
            except StorageError as error:
                failures += 1
                log.warning(
                    "update.storage_failed update_id=%s attempt=%s error=%s",
                    update_id_of(update),
                    failures,
                    error,
                )
                if not await self.gate.recovered(failures):
                    raise


@attrs.define
class TakenUpdates:
    """The updates taken from Telegram and not handled yet, in this process.

    Attributes:
        limit: How many may be taken and not handled at once (they are kept in memory; the
            journal holds them too, so a stop may leave them for the next start).
    """

    limit: int
    version: int = 0
    """Counts every take and finish (to wait for a change since a given moment)."""
    _pending: set[int] = attrs.field(factory=set[int])
    _handled: list[int] = attrs.field(factory=list[int])
    _changed: asyncio.Event = attrs.field(factory=asyncio.Event)

    @property
    def count(self) -> int:
        """How many are taken and not handled yet."""
        return len(self._pending)

    @property
    def room(self) -> int:
        """How many more may be taken now."""
        return max(0, self.limit - len(self._pending))

    @property
    def has_room(self) -> bool:
        """Whether one more may be taken."""
        return self.room > 0

    def holds(self, update_id: int) -> bool:
        """Whether this process took the update and has not told the journal it is handled."""
        return update_id in self._pending or update_id in self._handled

    def take(self, update_id: int) -> None:
        """Note an update put into the application's queue."""
        self._pending.add(update_id)
        self._notify()

    def finish(self, update_id: int, *, handled: bool) -> None:
        """Note an update handled (or, `handled=False`, given up unhandled: it stays kept)."""
        self._pending.discard(update_id)
        if handled:
            self._handled.append(update_id)
        self._notify()

    def drain_handled(self) -> list[int]:
        """The updates handled since the last call, to mark in the journal."""
        handled, self._handled = self._handled, []
        return handled

    def give_back(self, update_ids: list[int]) -> None:
        """Handled updates the journal could not be told about: offered again next time."""
        self._handled.extend(update_ids)

    async def changed(self, since: int | None = None) -> None:
        """Wait until an update is taken or finished (after `version` was `since`)."""
        if since is None or since == self.version:
            await self._changed.wait()

    def _notify(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()


@attrs.frozen
class Journaling:
    """The intake journal as the flow of updates uses it (rule 10).

    Attributes:
        journal: Where taken updates are kept until handled.
        taken: The updates of this process not handled yet, and those handled since the
            journal was last told.
        gate: Closed while the database is away.
    """

    journal: UpdateJournal
    taken: TakenUpdates
    gate: StorageGate
    stopping: asyncio.Event = attrs.field(factory=asyncio.Event)
    """Set when the flow of updates stops: the marking rounds end."""

    async def keep(self, updates: Sequence[JSONObject]) -> frozenset[int]:
        """Keep the updates, waiting out a database outage (intake stays paused meanwhile)."""
        return await self._through_outages("keep", lambda: self.journal.keep(updates))

    async def leftovers(self) -> list[JSONObject]:
        """What an earlier process took and did not handle, waiting out a database outage."""
        return await self._through_outages("leftovers", self.journal.leftovers)

    async def _through_outages[R](self, what: str, call: Callable[[], Awaitable[R]]) -> R:
        """`call()`, again after each storage failure once the database answers (`gate`)."""
        failures = 0
        while True:
            try:
                return await call()
            except StorageError as error:
                failures += 1
                log.warning("journal.%s_failed attempt=%s error=%s", what, failures, error)
                if not await self.gate.recovered(failures):
                    raise

    async def mark_handled(self) -> None:
        """Tell the journal which updates were handled since last time.

        On a storage failure they are kept, and offered again the next time.
        """
        handled = self.taken.drain_handled()
        try:
            await self.journal.mark_handled(handled)
        except StorageError as error:
            self.taken.give_back(handled)
            log.warning("journal.mark_failed updates=%s error=%s", len(handled), error)

    async def mark_handled_forever(self, interval: float = MARK_INTERVAL) -> None:
        """Mark handled updates every `interval` seconds until `stopping` is set.

        It ends between two rounds, never inside one: a statement cancelled halfway would leave
        its connection for the garbage collector.
        """
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self.stopping.wait()
            if not self.stopping.is_set():
                await self.mark_handled()


class CoalescedJournal:
    """An `UpdateJournal` whose concurrent `keep` calls share one statement (a group commit).

    Webhook deliveries arrive one update per request, up to Telegram's `max_connections` at
    once: while one statement keeps the first, the others wait and are kept together by the
    next, so a burst of deliveries costs a few statements, not one each.
    """

    def __init__(self, journal: UpdateJournal) -> None:
        self._journal = journal
        self._waiting: list[tuple[JSONObject, asyncio.Future[bool]]] = []
        self._writing = False

    async def keep(self, updates: Sequence[JSONObject]) -> frozenset[int]:
        loop = asyncio.get_running_loop()
        mine = [(update, loop.create_future()) for update in updates]
        self._waiting.extend(mine)
        if not self._writing:
            self._writing = True
            try:
                await self._write_all()
            finally:
                self._writing = False
        kept = await asyncio.gather(*(future for _, future in mine))
        return frozenset(
            int(update["update_id"]) for (update, _), new in zip(mine, kept, strict=True) if new
        )

    async def _write_all(self) -> None:
        """Keep what waits, batch after batch, until nothing does; each waiter gets its answer."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                new = await self._journal.keep([update for update, _ in batch])
            except Exception as error:  # each waiter of this batch refuses its delivery
                _fail(batch, error)
                continue
            except BaseException:  # the writer was cancelled: nobody is left to write
                _fail(batch + self._waiting, StorageError("the journal's writer was cancelled"))
                self._waiting = []
                raise
            for update, future in batch:
                if not future.done():
                    future.set_result(int(update["update_id"]) in new)

    async def mark_handled(self, update_ids: Collection[int]) -> None:
        await self._journal.mark_handled(update_ids)

    async def leftovers(self) -> list[JSONObject]:
        return await self._journal.leftovers()


def _fail(waiting: list[tuple[JSONObject, asyncio.Future[bool]]], error: Exception) -> None:
    for _, future in waiting:
        if not future.done():
            future.set_exception(error)


class TakingQueue(asyncio.Queue[object]):
    """PTB's update queue, noting every update put into it in `taken` (polling and webhook)."""

    def __init__(self, taken: TakenUpdates) -> None:
        super().__init__()
        self.taken = taken

    def put_nowait(self, item: object) -> None:
        """Queue the item; an update counts as taken from then until it is handled."""
        update_id = update_id_of(item)
        if update_id is not None:
            self.taken.take(update_id)
        super().put_nowait(item)
