"""Long polling that keeps every update in the intake journal before confirming it (rule 10).

PTB's `Updater` confirms a batch by the next getUpdates' offset as soon as the batch is in the
application's queue, so updates taken and not yet handled are lost when the process stops
before handling them. This poller keeps each batch in the journal first (`Journaling.keep`,
which waits out a database outage), and only then asks for the next one, whose offset confirms
it: an update Telegram forgot is in the journal until it is handled, and what a stop or a crash
left is handled after the next start.

So polling looks as far ahead as the process may hold (`TakenUpdates.limit`, thousands), not
one getUpdates batch: during a raid in one group, a command in another is taken at once and
handled in turn (`FairSlots`), instead of waiting behind the raid's backlog. Nothing is taken
while `StorageGate.open` is clear (the database is away).

Only the process holding the bot's `PollingLock` polls (`PollingTurns`): a second process on
the same token and database stands by, and takes over when the first stops or dies, first
handling what the first one left in the journal.
"""

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import attrs
from telegram import Bot
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.warnings import PTBUserWarning

from adapters.intake import PollingLock
from adapters.telegram.backpressure import Journaling, TakenUpdates
from adapters.telegram.plain_talk import read_update
from adapters.to_the_end import to_the_end
from application.errors import StorageError

log = logging.getLogger(__name__)

type JSONDict = dict[str, Any]

POLL_TIMEOUT = 10
"""Seconds one getUpdates waits for updates when there are none."""
MAX_BATCH = 100
"""Telegram's largest getUpdates batch."""
ERROR_DELAY = 1.0
"""The first wait after a failed getUpdates (doubling up to `MAX_ERROR_DELAY`)."""
MAX_ERROR_DELAY = 30.0
READ_MARGIN = 10.0
"""Seconds a getUpdates may take beyond its long-poll timeout before it counts as failed."""
FINAL_CONFIRM_TIMEOUT = 2.0
"""Seconds the stop waits for the getUpdates that confirms what was taken."""
CONFLICT_PAUSE = 1.0
"""Seconds before polling again after a 409 Conflict (another getUpdates took over)."""
DEFAULT_CONFLICT_WINDOW = 60.0
"""Seconds of conflicts after which this poller gives up (`AnotherPoller`)."""
STANDBY_RETRY = 1.0
"""Seconds between two attempts of a standby to take the polling lock."""
LOCK_CHECK_EVERY = 1.0
"""Seconds between two checks that the polling lock is still held while polling."""


class AnotherPoller(Exception):
    """Another process kept polling with this bot's token (409 Conflict) for too long."""

    def __init__(self, seconds: float, detail: str) -> None:
        self.seconds = seconds
        self.detail = detail
        super().__init__(seconds, detail)

    def __str__(self) -> str:
        return (
            f"another process is polling Telegram with this bot's token ({self.detail}, for "
            f"{self.seconds:.0f} s): run one `nezuko run` per token; stop the other one, or give "
            "this one its own bot"
        )


@attrs.define
class Poller:
    """Takes updates by long polling into the application's queue until cancelled.

    Attributes:
        bot: Asks getUpdates.
        queue: The application's update queue (a `TakingQueue` over `journaling.taken`).
        journaling: Keeps each batch before it is confirmed; says how many more may be taken.
        allowed_updates: The update types requested (DESIGN §7).
        offset: The next getUpdates' offset: every update below it is kept.
        conflict_window: Seconds of 409 Conflicts (another process polling with the same
            token) to bear before giving up; a handover between two processes causes one or
            two. Conflicts that stop for that long are forgotten.
        gave_up: Set when `run` gave up to another poller (nothing is confirmed on stopping,
            which would interrupt the other one).
    """

    bot: Bot
    queue: asyncio.Queue[object]
    journaling: Journaling
    allowed_updates: Sequence[str]
    timeout: int = POLL_TIMEOUT
    offset: int | None = None
    conflict_window: float = DEFAULT_CONFLICT_WINDOW
    gave_up: bool = False
    stopping: bool = False
    """Set to end `run` before its next getUpdates (`stop`)."""
    _keeping: bool = False
    _conflicts_since: float | None = None
    _last_conflict: float = 0.0

    async def run(self) -> None:
        """Poll until cancelled; a failed getUpdates is logged and tried again with backoff.

        Raises:
            InvalidToken: Telegram no longer accepts the token.
            AnotherPoller: another process has been polling with the same token for
                `conflict_window` seconds.
        """
        delay = ERROR_DELAY
        while not self.stopping:
            await self._wait_for_room()
            try:
                batch = await self._get_updates(self.offset)
            except InvalidToken:
                raise
            except Conflict as error:
                self._bear_conflict(error)
                await asyncio.sleep(CONFLICT_PAUSE)
                continue
            except TelegramError as error:
                log.warning("polling.failed error=%s retry_in=%s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_ERROR_DELAY)
                continue
            delay = ERROR_DELAY
            batch = batch[: self.taken.room]  # the rest stays unconfirmed for the next batch
            if not batch:
                continue
            self._keeping = True
            try:
                # Shielded: a stop cancels the poller, which must not cut a statement short
                # (its connection would be left to the garbage collector); a batch kept after
                # the stop is handled at the next start.
                new = await to_the_end(self.journaling.keep(batch))
            except StorageError:  # failing with the database up: a bug, not an outage
                self._keeping = False
                log.exception("polling.keep_failed retry_in=%s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_ERROR_DELAY)
                continue  # unconfirmed: the batch comes again
            self.offset = max(_update_id(raw) for raw in batch) + 1
            for raw in batch:  # one kept before (a restart's first batch) is a leftover
                if _update_id(raw) in new:
                    self.queue.put_nowait(read_update(raw, self.bot))
            self._keeping = False

    async def stop(self, running: "asyncio.Task[None]") -> None:
        """End `running` (this poller's `run`) without losing the batch it is keeping.

        A batch being kept is queued first (once kept, only this process would handle it: the
        journal tells anyone who takes it again from Telegram that it is known); a getUpdates
        or a wait for room is cut short (what it would have taken is still unconfirmed).
        """
        self.stopping = True
        if not self._keeping:
            running.cancel()
        try:
            await asyncio.wait({running})
        except asyncio.CancelledError:  # the process stops: as any stop, the batch stays kept
            running.cancel()
            raise
        if not running.cancelled():
            running.result()  # raises what ended it by itself

    def _bear_conflict(self, error: Conflict) -> None:
        """Note a 409 Conflict; one warning per series, and give up once it lasted too long.

        Raises:
            AnotherPoller: conflicts have gone on for `conflict_window` seconds.
        """
        now = asyncio.get_running_loop().time()
        forgotten = max(self.conflict_window, 3 * CONFLICT_PAUSE)
        if self._conflicts_since is None or now - self._last_conflict > forgotten:
            self._conflicts_since = now
            log.warning(
                "polling.conflict error=%r: another process polls with this bot's token; "
                "giving up in %.0f s unless it stops",
                error.message,
                self.conflict_window,
            )
        else:
            log.debug("polling.conflict error=%r", error.message)
        self._last_conflict = now
        lasted = now - self._conflicts_since
        if lasted >= self.conflict_window:
            self.gave_up = True
            raise AnotherPoller(lasted, f"Telegram answered 409 {error.message!r}")

    async def _get_updates(self, offset: int | None) -> list[JSONDict]:
        """One getUpdates, unparsed (`Bot.get_updates` would parse the whole batch)."""
        with warnings.catch_warnings():  # PTB asks to prefer get_updates, which parses
            warnings.simplefilter("ignore", PTBUserWarning)
            batch = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "limit": MAX_BATCH,
                    "timeout": self.timeout,
                    "allowed_updates": list(self.allowed_updates),
                },
                read_timeout=self.timeout + READ_MARGIN,
            )
        return cast("list[JSONDict]", batch) if isinstance(batch, list) else []

    async def _wait_for_room(self) -> None:
        gate = self.journaling.gate
        while not (self.taken.has_room and gate.open.is_set()):
            if not gate.open.is_set():
                await gate.open.wait()
            else:
                await self.taken.changed()

    @property
    def taken(self) -> TakenUpdates:
        """The updates taken and not handled yet."""
        return self.journaling.taken

    async def confirm_taken(self) -> None:
        """Confirm to Telegram every update taken (they are in the journal; on stopping)."""
        offset = self.offset
        if offset is None or self.gave_up:
            return
        try:
            async with asyncio.timeout(FINAL_CONFIRM_TIMEOUT):
                await self.bot.get_updates(offset=offset, limit=1, timeout=0)
        except (TelegramError, TimeoutError) as error:
            log.warning("polling.final_confirm_failed offset=%s error=%s", offset, error)
            return
        log.info("polling.confirmed", extra={"below": offset})


@attrs.define
class PollingTurns:
    """Polls while this process holds the bot's polling lock; stands by while another does.

    Standing by, it asks for the lock every `retry` seconds (one log line when it starts
    waiting). Once it holds the lock it queues what the journal kept and no process handled
    (`replay`: a process that died leaves its updates there), then polls, checking the lock
    every `check_every` seconds. When the lock is lost while polling (its connection dropped: a
    database outage), polling stops at once, since another process may hold the lock by now,
    and this one stands by again; what it had taken is still handled here.

    Attributes:
        lock: The bot's polling lock.
        poller: Makes the poller of one turn (its offset starts afresh: another process may
            have confirmed more meanwhile).
        replay: Queues the journal's leftovers; returns how many.
        active: Set while this process polls (`/ready` answers 503 while it is clear).
        current: The poller of the turn under way, or of the last one.
    """

    lock: PollingLock
    poller: Callable[[], Poller]
    replay: Callable[[], Awaitable[int]]
    retry: float = STANDBY_RETRY
    check_every: float = LOCK_CHECK_EVERY
    active: asyncio.Event = attrs.field(factory=asyncio.Event)
    current: Poller | None = None

    async def run(self) -> None:
        """Stand by and poll in turns until cancelled.

        Raises:
            InvalidToken, AnotherPoller: as `Poller.run` (another process on another database
                polls with the token).
        """
        while True:
            await self._wait_for_lock()
            await self.replay()
            self.current = poller = self.poller()
            self.active.set()
            log.info("polling.active")  # this process polls Telegram
            polling = asyncio.create_task(  # noqa: TID251 -- awaited below on every exit
                poller.run(), name=_task_name()
            )
            try:
                await self._while_held(polling)
            except BaseException:  # stopping (cancelled), or polling failed by itself
                self.active.clear()
                if not polling.done():
                    polling.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await polling
                raise
            self.active.clear()
            poller.gave_up = True  # another process may poll now: confirm nothing on stopping
            await poller.stop(polling)
            log.warning(
                "polling.lock_lost: polling stopped until the lock is taken again (another "
                "process may poll meanwhile); the updates taken are still handled here"
            )

    async def _wait_for_lock(self) -> None:
        if await self.lock.acquire():
            return
        log.warning(
            "polling.standby: another process polls with this bot's token on this database; "
            "standing by, taking over when it stops"
        )
        while True:
            await asyncio.sleep(self.retry)
            if await self.lock.acquire():
                return

    async def _while_held(self, polling: asyncio.Task[None]) -> None:
        """Return when the lock is lost; raise what ended polling by itself."""
        while True:
            done, _ = await asyncio.wait({polling}, timeout=self.check_every)
            if done:
                polling.result()  # raises what ended it (it never returns by itself)
                return
            if not await self.lock.still_held():
                return


def _task_name() -> str | None:
    """The current task's name, for the poller's task (the bench tells intake work by name)."""
    task = asyncio.current_task()
    return task.get_name() if task is not None else None


def _update_id(raw: JSONDict) -> int:
    update_id = raw.get("update_id")
    return update_id if isinstance(update_id, int) else -1
