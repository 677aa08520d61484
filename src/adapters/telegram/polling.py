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
"""

import asyncio
import logging
import warnings
from collections.abc import Sequence
from typing import Any, cast

import attrs
from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.warnings import PTBUserWarning

from adapters.telegram.backpressure import Journaling, TakenUpdates
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


@attrs.define
class Poller:
    """Takes updates by long polling into the application's queue until cancelled.

    Attributes:
        bot: Asks getUpdates.
        queue: The application's update queue (a `TakingQueue` over `journaling.taken`).
        journaling: Keeps each batch before it is confirmed; says how many more may be taken.
        allowed_updates: The update types requested (DESIGN §7).
        offset: The next getUpdates' offset: every update below it is kept.
    """

    bot: Bot
    queue: asyncio.Queue[object]
    journaling: Journaling
    allowed_updates: Sequence[str]
    timeout: int = POLL_TIMEOUT
    offset: int | None = None

    async def run(self) -> None:
        """Poll until cancelled; a failed getUpdates is logged and tried again with backoff."""
        delay = ERROR_DELAY
        while True:
            await self._wait_for_room()
            try:
                batch = await self._get_updates(self.offset)
            except InvalidToken:
                log.exception("polling.invalid_token")
                raise
            except TelegramError as error:
                log.warning("polling.failed error=%s retry_in=%s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_ERROR_DELAY)
                continue
            delay = ERROR_DELAY
            batch = batch[: self.taken.room]  # the rest stays unconfirmed for the next batch
            if not batch:
                continue
            try:
                new = await self.journaling.keep(batch)
            except StorageError:  # failing with the database up: a bug, not an outage
                log.exception("polling.keep_failed retry_in=%s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_ERROR_DELAY)
                continue  # unconfirmed: the batch comes again
            self.offset = max(_update_id(raw) for raw in batch) + 1
            for raw in batch:  # one kept before (a restart's first batch) is a leftover
                if _update_id(raw) in new:
                    await self.queue.put(Update.de_json(raw, self.bot))

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
        if offset is None:
            return
        try:
            async with asyncio.timeout(FINAL_CONFIRM_TIMEOUT):
                await self.bot.get_updates(offset=offset, limit=1, timeout=0)
        except (TelegramError, TimeoutError) as error:
            log.warning("polling.final_confirm_failed offset=%s error=%s", offset, error)
            return
        log.info("polling.confirmed below=%s", offset)


def _update_id(raw: JSONDict) -> int:
    update_id = raw.get("update_id")
    return update_id if isinstance(update_id, int) else -1
