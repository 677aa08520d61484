"""Long polling that confirms an update to Telegram only once it is handled (rule 10).

PTB's `Updater` confirms a batch by the next getUpdates' offset as soon as the batch is in the
application's queue, so updates taken and not yet handled are lost when the process stops
before handling them. This poller asks getUpdates with the offset of the oldest update not
handled yet (`TakenUpdates.confirmable`): Telegram forgets an update only once it and every
earlier one are handled, and what a stop could not handle is sent again after a restart.

It takes at most `TakenUpdates.limit` updates ahead of handling (the fetch-ahead window, at most
a getUpdates batch of 100), and none while `StorageGate.open` is clear (the database is away).
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

from adapters.telegram.backpressure import StorageGate, TakenUpdates

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
"""Seconds the stop waits for the getUpdates that confirms what was handled."""


@attrs.define
class Poller:
    """Takes updates by long polling into the application's queue until cancelled.

    Attributes:
        bot: Asks getUpdates.
        queue: The application's update queue (a `TakingQueue` over `taken`).
        taken: The fetch-ahead window.
        gate: Closed while the database is away.
        allowed_updates: The update types requested (DESIGN §7).
    """

    bot: Bot
    queue: asyncio.Queue[object]
    taken: TakenUpdates
    gate: StorageGate
    allowed_updates: Sequence[str]
    timeout: int = POLL_TIMEOUT

    async def run(self) -> None:
        """Poll until cancelled; a failed getUpdates is logged and tried again with backoff."""
        delay = ERROR_DELAY
        while True:
            await self._wait_for_room()
            asked = self.taken.version
            try:
                batch = await self._get_updates(self.taken.confirmable())
            except InvalidToken:
                log.exception("polling.invalid_token")
                raise
            except TelegramError as error:
                log.warning("polling.failed error=%s retry_in=%s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_ERROR_DELAY)
                continue
            delay = ERROR_DELAY
            # Updates still being handled come back in every batch until they are handled:
            # only the new ones are parsed (PTB's parsing costs more than the handling of most).
            fresh = [raw for raw in batch if self.taken.is_new(_update_id(raw))]
            for raw in fresh:
                if not (self.taken.has_room and self.gate.open.is_set()):
                    break  # the rest stays unconfirmed and comes back with the next batch
                await self.queue.put(Update.de_json(raw, self.bot))
            if batch and not fresh:
                # The batch held only updates still being handled: wait for one to finish
                # rather than asking again at once for the same batch.
                await self.taken.changed(since=asked)

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
        while not (self.taken.has_room and self.gate.open.is_set()):
            if not self.gate.open.is_set():
                await self.gate.open.wait()
            else:
                await self.taken.changed()

    async def confirm_handled(self) -> None:
        """Confirm to Telegram every handled update, and none that was not (on stopping)."""
        offset = self.taken.confirmable()
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
