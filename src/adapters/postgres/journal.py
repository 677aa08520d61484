"""The intake journal over PostgreSQL: `taken_updates`, one row per update taken from Telegram.

An update's row holds its JSON until it is handled; then only its id stays, for `FORGET_AFTER`,
so that Telegram sending it again (the getUpdates batch a crash left unconfirmed) is recognised
and not handled twice. The rows carry the bot's id: a database reused with another token never
mistakes that bot's updates for this one's.
"""

import contextlib
import json
import time
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import BigInteger, Interval, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.intake import JSONObject
from adapters.postgres.errors import storage_errors

FORGET_AFTER = timedelta(hours=1)
"""How long the id of a handled update is kept (a restart after a crash comes sooner)."""
FORGET_EVERY = 60.0
"""Seconds between two sweeps of the ids kept past `FORGET_AFTER`."""

_ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
"""Journal writes do not wait for the disk: they must outlive the bot's process (a crash, a
kill -9), which they do once committed; a crash of PostgreSQL itself may lose the last fraction
of a second of them (three `wal_writer_delay`s at most), which the hot path is not worth. Set
inside the statement, which is its own transaction: one round trip, not four."""

_KEEP = (
    "INSERT INTO taken_updates (bot_id, update_id, payload, taken_by) "
    "SELECT $1, (kept ->> 'update_id')::bigint, kept, $3::integer "
    "FROM jsonb_array_elements($2::jsonb) AS kept "
    f"CROSS JOIN {_ASYNC_COMMIT} "
    "ON CONFLICT DO NOTHING RETURNING update_id"
)
_HANDLED = (
    f"UPDATE taken_updates SET payload = NULL FROM {_ASYNC_COMMIT} "
    "WHERE bot_id = $1 AND update_id = ANY($2::bigint[]) AND payload IS NOT NULL"
)
_FORGET = text(
    "DELETE FROM taken_updates "
    "WHERE bot_id = :bot_id AND payload IS NULL AND taken_at < now() - :after"
).bindparams(bindparam("bot_id", type_=BigInteger), bindparam("after", type_=Interval))
_LEFTOVERS = (
    "UPDATE taken_updates AS taken SET taken_by = $2::integer "
    "FROM (SELECT bot_id, update_id FROM taken_updates AS t "
    "WHERE t.bot_id = $1 AND t.payload IS NOT NULL "
    "AND (t.taken_by IS NULL OR NOT EXISTS "
    "(SELECT 1 FROM pg_stat_activity AS s WHERE s.pid = t.taken_by)) "
    "ORDER BY t.update_id LIMIT $3 FOR UPDATE SKIP LOCKED) AS orphan "
    "WHERE taken.bot_id = orphan.bot_id AND taken.update_id = orphan.update_id "
    "RETURNING taken.update_id, taken.payload"
)
"""Updates kept and not handled whose taker is gone (its session ended: a stop, a crash, a
kill -9), or not known: claimed for this process, so that two workers do not both take them."""
ADOPT_AT_ONCE = 2000
"""The most leftovers taken at once (the bot holds at most as many taken updates)."""


async def _driver(connection: AsyncConnection) -> Any:
    """The pooled connection's asyncpg connection, outside any transaction.

    Each statement commits by itself: the intake's statements skip SQLAlchemy's per-statement
    work and the BEGIN and COMMIT round trips (they are on polling's critical path: the next
    getUpdates waits for them).
    """
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def _invalidate(connection: AsyncConnection) -> None:
    """Drop a connection a statement failed on.

    The pool does not ask it before handing it out again (the journal's engine skips the
    pre-ping, three round trips per statement).
    """
    with contextlib.suppress(Exception):
        await connection.invalidate()


class PostgresJournal:
    """`UpdateJournal` in the `taken_updates` table (no tenant: it comes before any group).

    Its engine may skip the pre-ping (`create_engine(pre_ping=False)`): a connection a
    statement failed on is invalidated here, and the statement is tried again by the caller.

    Each update is kept with its taker (`owner()`: the backend pid of a session that lives as
    long as the process, its notification connection's; None when not known). Leftovers are
    the updates whose taker's session is gone: several workers each take over what a dead
    one acknowledged, and never what a live one is handling (issue 15).
    """

    def __init__(
        self, engine: AsyncEngine, bot_id: int, owner: Callable[[], int | None] = lambda: None
    ) -> None:
        self._engine = engine
        self._bot_id = bot_id
        self._owner = owner
        self._swept_at = float("-inf")

    async def keep(self, updates: Sequence[JSONObject]) -> frozenset[int]:
        if not updates:
            return frozenset()
        batch = json.dumps(updates, separators=(",", ":"))  # one array: one encoder call
        with storage_errors():
            async with self._engine.connect() as connection:
                driver = await _driver(connection)
                try:
                    rows = await driver.fetch(_KEEP, self._bot_id, batch, self._owner())
                except BaseException:
                    await _invalidate(connection)
                    raise
                return frozenset(int(row[0]) for row in rows)

    async def mark_handled(self, update_ids: Collection[int]) -> None:
        sweep = time.monotonic() - self._swept_at >= FORGET_EVERY
        if not update_ids and not sweep:
            return
        with storage_errors():
            async with self._engine.connect() as connection:
                try:
                    if update_ids:
                        driver = await _driver(connection)
                        await driver.execute(_HANDLED, self._bot_id, list(update_ids))
                    if sweep:
                        await connection.execute(
                            _FORGET, {"bot_id": self._bot_id, "after": FORGET_AFTER}
                        )
                        await connection.commit()
                except BaseException:
                    await _invalidate(connection)
                    raise
        if sweep:
            self._swept_at = time.monotonic()

    async def leftovers(self) -> list[JSONObject]:
        with storage_errors():
            async with self._engine.connect() as connection:
                driver = await _driver(connection)
                try:
                    rows = await driver.fetch(
                        _LEFTOVERS, self._bot_id, self._owner(), ADOPT_AT_ONCE
                    )
                except BaseException:
                    await _invalidate(connection)
                    raise
        found = sorted((int(row[0]), row[1]) for row in rows)
        return [_object(payload) for _, payload in found]


def _object(payload: Any) -> JSONObject:
    """A JSONB value as asyncpg returns it (text, without a codec) as a JSON object."""
    return json.loads(payload) if isinstance(payload, str) else dict(payload)
