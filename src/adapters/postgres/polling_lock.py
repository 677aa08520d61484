"""The bot's polling lock: a PostgreSQL session advisory lock keyed on the bot's id.

Two `nezuko run` processes polling with one token on one database would fight over getUpdates
(409 Conflict). The one holding this lock polls; the other stands by, asking for it again every
second, and takes over when the first stops (it releases the lock after its last update is
handled and marked) or dies (PostgreSQL ends the session of a killed process as soon as its
connection drops, and the lock with it).

The lock lives on a connection of its own, outside the engine's pool: a session lock on a pooled
connection would go back to the pool with it. The key is the bot's id (`pg_try_advisory_lock`'s
single-bigint form), so bots sharing a database each have their own.
"""

import asyncio
import logging
from typing import Any, cast

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.intake import PollingLock
from adapters.to_the_end import to_the_end

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 2.0
"""Seconds one attempt (connecting included) or one check of the lock may take; past it the
lock counts as not held."""


class PostgresPollingLock(PollingLock):
    """`PollingLock` as a session advisory lock on a dedicated connection."""

    def __init__(self, engine: AsyncEngine, bot_id: int, timeout: float = LOCK_TIMEOUT) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._key = bot_id
        self._timeout = timeout
        self._connection: Any = None

    async def acquire(self) -> bool:
        # Shielded, like every call here: a connect or a statement cut short by a cancelled
        # caller leaves its connection to the garbage collector; each call ends within the
        # timeout by itself.
        return await to_the_end(self._acquire())

    async def still_held(self) -> bool:
        return await to_the_end(self._still_held())

    async def release(self) -> None:
        await to_the_end(self._release())

    async def _acquire(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                if self._connection is None:
                    driver: Any = cast(Any, asyncpg)  # untyped
                    self._connection = await driver.connect(
                        self._dsn,
                        timeout=self._timeout,
                        server_settings={"application_name": "nezuko:polling-lock"},
                    )
                return bool(
                    await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
                )
        except Exception as error:  # the database does not answer: not held
            log.debug("polling_lock.unavailable error=%s", type(error).__name__)
            self._drop()
            return False

    async def _still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            async with asyncio.timeout(self._timeout):
                await self._connection.fetchval("SELECT 1")
        except Exception as error:  # the session, and the lock with it, may be gone
            log.warning("polling_lock.lost error=%s", type(error).__name__)
            self._drop()
            return False
        return True

    async def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await connection.close()  # the session ends, and its advisory locks
        except Exception:  # a server that does not answer: drop the connection
            connection.terminate()

    def _drop(self) -> None:
        """Forget the connection without a word to the server (which may not answer)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()
