"""The alembic runner: migrations run as the tables' owner and grant the runtime role its rights.

The revisions live in the repository's `migrations/` directory; its `env.py` takes the open
connection and the runtime role from alembic's config attributes (or, on the `alembic` command
line, from the settings).
"""

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, NullPool
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.errors import DatabaseSetupError, translate
from adapters.postgres.urls import async_url, url_user

REPO_ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = REPO_ROOT / "migrations"


def runtime_role(
    requested: str | None, *, configured: str | None, database_url: str | None
) -> str | None:
    """The role the migrations grant the runtime rights to, if one can be named.

    `requested` (`--runtime-role`, or alembic's `-x runtime_role=NAME`), else `configured`
    (`NEZUKO_RUNTIME_ROLE`), else the user of `database_url` (`DATABASE_URL`).

    Raises:
        InvalidDatabaseUrl: `database_url` is needed and is not a PostgreSQL URL.
    """
    role = requested or configured
    if not role and database_url:
        role = url_user(database_url)
    return role or None


def alembic_config(runtime_role: str | None = None) -> Config:
    """Alembic's configuration for this project's migrations (no ini file, no logging set-up)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if runtime_role is not None:
        config.attributes["runtime_role"] = runtime_role
    return config


async def migrate(admin_url: str, runtime_role: str, *, revision: str = "head") -> None:
    """Upgrade the schema to `revision` as the owner, granting the runtime role its rights."""
    await _alembic(admin_url, runtime_role, command.upgrade, revision)


async def downgrade(admin_url: str, runtime_role: str, *, revision: str) -> None:
    """Downgrade the schema to `revision` (`base`: drop everything the migrations made)."""
    await _alembic(admin_url, runtime_role, command.downgrade, revision)


async def _alembic(
    admin_url: str,
    runtime_role: str,
    step: Callable[[Config, str], None],
    revision: str,
) -> None:
    config = alembic_config(runtime_role)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        step(config, revision)

    engine = create_async_engine(async_url(admin_url), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    except (SQLAlchemyError, OSError) as error:
        msg = f"migrating to {revision} failed: {translate(error)}"
        raise DatabaseSetupError(msg) from error
    except RuntimeError as error:  # a revision's own check (for example: no runtime role)
        msg = f"migrating to {revision} failed: {error}"
        raise DatabaseSetupError(msg) from error
    finally:
        await engine.dispose()
