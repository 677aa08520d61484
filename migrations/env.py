"""Alembic environment (async): runs as the tables' owner, grants rights to the runtime role.

Two ways in:
- `nezuko migrate` (and tests) call alembic's command API with an open connection in
  `config.attributes["connection"]` and the runtime role in `config.attributes["runtime_role"]`.
- The `alembic` command line reads the settings as `nezuko migrate` does (the environment, else
  `.env`): DATABASE_ADMIN_URL, and the runtime role from `-x runtime_role=NAME`,
  NEZUKO_RUNTIME_ROLE or DATABASE_URL's user (`adapters.postgres.migrations.runtime_role`).
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.migrations import runtime_role
from adapters.postgres.tables import metadata
from adapters.postgres.urls import async_url
from bootstrap.settings import Settings

config = context.config
target_metadata = metadata

if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _admin_url(settings: Settings) -> str:
    url = settings.database_admin_url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set DATABASE_ADMIN_URL to the owner's connection URL")
    return async_url(url)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        # Everything lives in `public`, whatever the owner's own search_path says.
        connection.execute(text("SELECT set_config('search_path', 'public', true)"))
        context.run_migrations()


async def _run_online(admin_url: str) -> None:
    engine = create_async_engine(admin_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: they need the database")

shared = config.attributes.get("connection")
if isinstance(shared, Connection):  # `nezuko migrate`: the caller named the runtime role
    _run(shared)
else:  # the `alembic` command line
    settings = Settings.from_env()
    config.attributes["runtime_role"] = runtime_role(
        context.get_x_argument(as_dictionary=True).get("runtime_role"),
        configured=settings.runtime_role,
        database_url=settings.database_url,
    )
    asyncio.run(_run_online(_admin_url(settings)))
