"""The shared send budget in PostgreSQL: `send_budget` and `book_send()` (0013, 0015).

Each booking is one statement, its own transaction: `book_send` locks the overall row and the
chat's row (always in that order) and, on the database's clock (one clock for every worker;
GCRA, the virtual-scheduling form of a leaky bucket), books the next moment the overall bucket
allows once the chat's own buckets allow a send now, keeping the priorities as the port says
(lower priorities leave part of each burst to the higher ones, and only answers book ahead).
One round trip per send when the chat is free, one more per wait for the chat's own pace, and
under congestion one more per wait of a warning or a notice for the overall bucket (refused
ones are told to ask again one `1 / rate` after another, not all at once): the bot sends at
most 30 messages a second in all, so the whole bot makes a few dozen bookings a second at
most, whatever the number of workers; the hot path sends nothing.
"""

import asyncio
import contextlib
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.postgres.errors import storage_errors
from application.ports.send_budget import Booking, Priority, SendBudget, SendRates

_BOOK = "SELECT wait, booked FROM book_send($1, $2, $3, $4, $5, $6, $7, $8, $9)"
_HOLD = (
    "INSERT INTO send_budget AS b (chat, chat_at, group_at, used_at, held_until) "
    "VALUES ($1, 0, 0, extract(epoch FROM clock_timestamp()), "
    "extract(epoch FROM clock_timestamp()) + $2) "
    "ON CONFLICT (chat) DO UPDATE SET held_until = greatest(b.held_until, excluded.held_until)"
)
_PRUNE = (
    "DELETE FROM send_budget "
    "WHERE chat <> '*' AND used_at < extract(epoch FROM clock_timestamp()) - $1 "
    "AND held_until < extract(epoch FROM clock_timestamp())"
)
TIMEOUT = 2.0
"""Seconds a booking or a hold may take (a pool checkout included); past it the database counts
as not answering, and the send is paced by its worker alone."""
PRUNE_EVERY = 600.0
"""Seconds between two sweeps of the buckets of chats not sent into for `IDLE_AFTER`."""
IDLE_AFTER = 3600.0
"""Seconds after which an unused chat's bucket is full again anyway: forgetting it loses
nothing."""


class PostgresSendBudget(SendBudget):
    """`SendBudget` over `send_budget`; its engine may skip the pre-ping (like the journal's)."""

    def __init__(self, engine: AsyncEngine, rates: SendRates) -> None:
        self._engine = engine
        self._rates = rates
        self._pruned_at = time.monotonic()

    async def book(self, chat: str, *, group: bool, priority: Priority) -> Booking:
        rates = self._rates
        with storage_errors():
            async with asyncio.timeout(TIMEOUT), self._engine.connect() as connection:
                driver = await _driver(connection)
                try:
                    row = await driver.fetchrow(
                        _BOOK,
                        chat,
                        group,
                        int(priority),
                        float(rates.per_chat.burst),
                        rates.per_chat.per_second,
                        float(rates.per_group.burst),
                        rates.per_group.per_second,
                        float(rates.overall.burst),
                        rates.overall.per_second,
                    )
                    if time.monotonic() - self._pruned_at >= PRUNE_EVERY:
                        self._pruned_at = time.monotonic()
                        await driver.execute(_PRUNE, IDLE_AFTER)
                except BaseException:
                    await _invalidate(connection)
                    raise
        return Booking(float(row[0]), bool(row[1]))

    async def hold(self, chat: str, seconds: float) -> None:
        with storage_errors():
            async with asyncio.timeout(TIMEOUT), self._engine.connect() as connection:
                driver = await _driver(connection)
                try:
                    await driver.execute(_HOLD, chat, float(seconds))
                except BaseException:
                    await _invalidate(connection)
                    raise


async def _driver(connection: AsyncConnection) -> Any:
    """The pooled connection's asyncpg connection: each statement commits by itself."""
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def _invalidate(connection: AsyncConnection) -> None:
    """Drop a connection a statement failed on (the pool may not ping it before reuse)."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
