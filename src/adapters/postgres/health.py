"""`/ready` for a bot on PostgreSQL: started, and the database answers a trivial query."""

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import asyncpg
import attrs
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.to_the_end import to_the_end

log = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0
"""Seconds `/ready` waits for the database's answer before calling it unreachable."""


async def database_answers(engine: AsyncEngine, timeout: float = READINESS_TIMEOUT) -> bool:  # noqa: ASYNC109
    """Whether the engine's database answers `SELECT 1` within `timeout` seconds; never raises.

    It asks on a connection of its own, outside the engine's pool: a pool exhausted by
    connections stuck on a hung server would hold the question up to the checkout timeout,
    and returning a connection to the pool rolls it back on the server, which a hung server
    never answers. The connection is dropped without a word to the server (`terminate`), so
    nothing after the timeout waits on the server either.
    """
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    # Shielded: a caller cancelled halfway (the HTTP server closing while `/ready` asks, a stop
    # while the gate probes) must not cut asyncpg's connect short, which leaks the connection to
    # the garbage collector; the probe ends by itself within `timeout` and closes what it opened.
    return await to_the_end(_asks(dsn, timeout))


async def _asks(dsn: str, timeout: float) -> bool:  # noqa: ASYNC109
    driver: Any = cast(Any, asyncpg)  # untyped
    connection: Any = None
    try:
        async with asyncio.timeout(timeout):
            connection = await driver.connect(dsn, timeout=timeout)
            await connection.fetchval("SELECT 1")
    except Exception as error:  # any failure to answer means it does not answer
        log.warning("database.unreachable error=%s", type(error).__name__)
        return False
    finally:
        if connection is not None:
            connection.terminate()
    return True


@attrs.define
class Readiness:
    """`/ready`: the bot is started and the database answers a trivial query.

    Attributes:
        engine: The runtime's engine, set before updates flow; None when state is kept in
            memory (`nezuko run --memory`), and then there is no database to ask.
        started: Set once the bot is started (polling or standing by, or the webhook set),
            cleared on stopping.
        timeout: Seconds the whole check may take, connecting included.
    """

    engine: AsyncEngine | None = None
    started: bool = False
    timeout: float = READINESS_TIMEOUT
    standby: Callable[[], bool] = lambda: False
    """Whether the process stands by while another one polls with the bot's token."""

    async def __call__(self) -> str | None:
        """Why the bot is not ready, or None when it is."""
        if not self.started:
            return "bot not started"
        if self.standby():
            return "standing by: another process polls with this bot's token"
        if self.engine is None:
            return None
        if not await database_answers(self.engine, self.timeout):
            return "database unreachable"
        return None
