"""The intake journal over PostgreSQL: `taken_updates`, one row per update taken from Telegram.

An update's row holds its JSON until it is handled; then only its id stays, for `FORGET_AFTER`,
so that Telegram sending it again (the getUpdates batch a crash left unconfirmed) is recognised
and not handled twice. The rows carry the bot's id: a database reused with another token never
mistakes that bot's updates for this one's.
"""

import json
import time
from collections.abc import Collection, Sequence
from datetime import timedelta

from sqlalchemy import BigInteger, Interval, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.intake import JSONObject
from adapters.postgres.errors import storage_errors

FORGET_AFTER = timedelta(hours=1)
"""How long the id of a handled update is kept (a restart after a crash comes sooner)."""
FORGET_EVERY = 60.0
"""Seconds between two sweeps of the ids kept past `FORGET_AFTER`."""

_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")
"""Journal writes do not wait for the disk: they must outlive the bot's process (a crash, a
kill -9), which they do once committed; a crash of PostgreSQL itself may lose the last fraction
of a second of them (three `wal_writer_delay`s at most), which the hot path is not worth."""

_KEEP = text(
    "INSERT INTO taken_updates (bot_id, update_id, payload) "
    "SELECT :bot_id, kept.update_id, kept.payload::jsonb "
    "FROM unnest(:update_ids, :payloads) AS kept (update_id, payload) "
    "ON CONFLICT DO NOTHING RETURNING update_id"
).bindparams(
    bindparam("bot_id", type_=BigInteger),
    bindparam("update_ids", type_=ARRAY(BigInteger)),
    bindparam("payloads", type_=ARRAY(Text)),
)
_HANDLED = text(
    "UPDATE taken_updates SET payload = NULL "
    "WHERE bot_id = :bot_id AND update_id = ANY(:update_ids) AND payload IS NOT NULL"
).bindparams(
    bindparam("bot_id", type_=BigInteger), bindparam("update_ids", type_=ARRAY(BigInteger))
)
_FORGET = text(
    "DELETE FROM taken_updates "
    "WHERE bot_id = :bot_id AND payload IS NULL AND taken_at < now() - :after"
).bindparams(bindparam("bot_id", type_=BigInteger), bindparam("after", type_=Interval))
_LEFTOVERS = text(
    "SELECT payload FROM taken_updates "
    "WHERE bot_id = :bot_id AND payload IS NOT NULL ORDER BY update_id"
).bindparams(bindparam("bot_id", type_=BigInteger))


class PostgresJournal:
    """`UpdateJournal` in the `taken_updates` table (no tenant: it comes before any group)."""

    def __init__(self, engine: AsyncEngine, bot_id: int) -> None:
        self._engine = engine
        self._bot_id = bot_id
        self._swept_at = float("-inf")

    async def keep(self, updates: Sequence[JSONObject]) -> frozenset[int]:
        if not updates:
            return frozenset()
        ids = [int(update["update_id"]) for update in updates]
        payloads = [json.dumps(update, separators=(",", ":")) for update in updates]
        parameters = {"bot_id": self._bot_id, "update_ids": ids, "payloads": payloads}
        with storage_errors():
            async with self._engine.begin() as connection:
                await connection.execute(_ASYNC_COMMIT)
                result = await connection.execute(_KEEP, parameters)
                return frozenset(int(update_id) for update_id in result.scalars())

    async def mark_handled(self, update_ids: Collection[int]) -> None:
        sweep = time.monotonic() - self._swept_at >= FORGET_EVERY
        if not update_ids and not sweep:
            return
        with storage_errors():
            async with self._engine.begin() as connection:
                await connection.execute(_ASYNC_COMMIT)
                if update_ids:
                    parameters = {"bot_id": self._bot_id, "update_ids": list(update_ids)}
                    await connection.execute(_HANDLED, parameters)
                if sweep:
                    await connection.execute(
                        _FORGET, {"bot_id": self._bot_id, "after": FORGET_AFTER}
                    )
        if sweep:
            self._swept_at = time.monotonic()

    async def leftovers(self) -> list[JSONObject]:
        with storage_errors():
            async with self._engine.connect() as connection:
                result = await connection.execute(_LEFTOVERS, {"bot_id": self._bot_id})
                return [dict(payload) for payload in result.scalars()]
