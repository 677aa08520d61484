"""`/ready` for a bot on PostgreSQL: started, and the database answers a trivial query."""

import asyncio
import logging

import attrs
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0
"""Seconds `/ready` waits for the database's answer before calling it unreachable."""


@attrs.define
class Readiness:
    """`/ready`: the bot is started and the database answers a trivial query.

    Attributes:
        engine: The runtime's engine, set before updates flow; None when state is kept in
            memory (`nezuko run --memory`), and then there is no database to ask.
        started: Set once updates flow (polling started or webhook set), cleared on stopping.
        timeout: Seconds to wait for the database.
    """

    engine: AsyncEngine | None = None
    started: bool = False
    timeout: float = READINESS_TIMEOUT

    async def __call__(self) -> str | None:
        """Why the bot is not ready, or None when it is."""
        if not self.started:
            return "bot not started"
        if self.engine is None:
            return None
        try:
            async with asyncio.timeout(self.timeout), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure to answer means not ready
            log.warning("ready.database_unreachable error=%s", type(error).__name__)
            return "database unreachable"
        return None
