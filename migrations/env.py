"""Alembic environment (async): runs as the tables' owner, grants rights to the runtime role.

Two ways in:
- `nezuko migrate` (and tests) call alembic's command API with an open connection in
  `config.attributes["connection"]` and the runtime role in `config.attributes["runtime_role"]`.
- The `alembic` command line reads DATABASE_ADMIN_URL and the runtime role from
  `-x runtime_role=NAME`, NEZUKO_RUNTIME_ROLE or DATABASE_URL's user.
"""

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.tables import metadata
from adapters.postgres.urls import async_url, url_user

config = context.config
target_metadata = metadata

if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _resolve_runtime_role() -> str | None:
    """The role granted the runtime rights; revisions that grant fail clearly without one."""
    role = config.attributes.get("runtime_role") or context.get_x_argument(as_dictionary=True).get(
        "runtime_role"
    )
    role = role or os.environ.get("NEZUKO_RUNTIME_ROLE")
    if not role and os.environ.get("DATABASE_URL"):
        role = url_user(os.environ["DATABASE_URL"])
    return str(role) if role else None


def _admin_url() -> str:
    url = os.environ.get("DATABASE_ADMIN_URL") or config.get_main_option("sqlalchemy.url")
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


async def _run_online() -> None:
    engine = create_async_engine(_admin_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: they need the database")

config.attributes["runtime_role"] = _resolve_runtime_role()
shared = config.attributes.get("connection")
if isinstance(shared, Connection):
    _run(shared)
else:
    asyncio.run(_run_online())
