"""The SQLAlchemy async engine the PostgreSQL adapters share."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.postgres.urls import async_url


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

    Connections are checked before each use (`pool_pre_ping`), so after a dropped connection or a
    server restart the next transaction gets a working connection without restarting the process.
    `pre_ping=False` leaves that to the caller (a connection that failed must be invalidated).
    """
    return create_async_engine(
        async_url(url),
        pool_pre_ping=pre_ping,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"server_settings": {"application_name": application_name}},
        **options,
    )
