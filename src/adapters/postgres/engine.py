"""The SQLAlchemy async engine the PostgreSQL adapters share."""

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from adapters.postgres.urls import async_url

PING_IDLE_AFTER = 5.0
"""Seconds a pooled connection may sit unused before a checkout asks the server whether it is
still there. A connection used more recently is handed out as it is: under load none is pinged
(a ping is a transaction of three round trips: BEGIN, an empty statement, ROLLBACK, as much as
the transaction it guards), and the unit of work begins again on a fresh connection when the
first statement finds the connection dropped (`TenantConnection`)."""

_USED_AT = "nezuko_used_at"


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 5,
    application_name: str = "nezuko",
    pre_ping: bool = True,
    **options: Any,
) -> AsyncEngine:
    """An asyncpg engine for a PostgreSQL URL; dispose of it with `await engine.dispose()`.

    `postgresql://` and `postgres://` URLs get the asyncpg driver (`postgresql+asyncpg://`).

    Connections that sat in the pool longer than `PING_IDLE_AFTER` are checked before use (as
    `pool_pre_ping` does, but not every checkout), so after a server restart or a connection
    dropped while idle the next transaction gets a working connection without restarting the
    process; a unit of work also survives a drop within that time (`TenantConnection` begins
    again). `pre_ping=False` checks none: that is left to the caller (a connection that failed
    must be invalidated).
    """
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"server_settings": {"application_name": application_name}},
        **options,
    )
    if pre_ping:
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a connection at checkout when it was last used over `PING_IDLE_AFTER` ago."""
    dialect: Dialect = engine.sync_engine.dialect

    def used(_: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info[_USED_AT] = time.monotonic()

    def checkout(
        connection: DBAPIConnection, record: ConnectionPoolEntry, _: PoolProxiedConnection
    ) -> None:
        if time.monotonic() - record.info.get(_USED_AT, float("-inf")) <= PING_IDLE_AFTER:
            return
        try:
            dialect.do_ping(connection)
        except Exception as error:  # as pool_pre_ping: every connection as old is suspect
            raise exc.InvalidatePoolError(str(error)) from error
        record.info[_USED_AT] = time.monotonic()

    event.listen(engine.sync_engine, "connect", used)
    event.listen(engine.sync_engine, "checkin", used)
    event.listen(engine.sync_engine, "checkout", checkout)
