"""`nezuko migrate`: bring the schema, its policies and the runtime role's grants up to date.

Configured like `nezuko run` (`Settings`: the environment, else `.env`). With `DATABASE_ADMIN_URL`
set, migrations run as that role (the tables' owner) and grant the runtime role (`--runtime-role`,
else `NEZUKO_RUNTIME_ROLE`, else `DATABASE_URL`'s user) exactly the rights it needs. With neither
`DATABASE_URL` nor `DATABASE_ADMIN_URL` set, the embedded server under `NEZUKO_DATA_DIR` is
started, prepared, migrated and stopped again.
"""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable

from adapters.postgres.embedded import embedded_database
from adapters.postgres.errors import DatabaseSetupError, sqlstate
from adapters.postgres.migrations import migrate, runtime_role
from adapters.postgres.urls import InvalidDatabaseUrl, describe_url
from application.errors import StorageError
from bootstrap.observability import Redactor, configure_logging
from bootstrap.settings import Settings, SettingsError, environment_help
from bootstrap.startup import (
    AUTHENTICATION_SQLSTATES,
    UNREACHABLE_SQLSTATES,
    StartupFailure,
    explain,
    retrying,
)

log = logging.getLogger("nezuko.migrate")

EXIT_FAILED = 1
EXIT_USAGE = 2


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `migrate` sub-command."""
    parser = add_parser(
        "migrate",
        help="upgrade the database schema as its owner (DATABASE_ADMIN_URL) and grant the runtime "
        "role its rights; without any database URL, prepare the embedded database",
        description="Upgrade the database schema, its row-level security policies and the "
        "runtime role's grants, as the tables' owner (DATABASE_ADMIN_URL). With neither "
        "DATABASE_URL nor DATABASE_ADMIN_URL, the embedded PostgreSQL under NEZUKO_DATA_DIR is "
        "started, migrated and stopped. Run it before `nezuko run` after every upgrade.\n\n"
        "exit codes: 0 migrated; 1 the migration failed; 2 configuration (a setting, the "
        "admin role's name or password, the database's name); 3 the database did not answer "
        "within NEZUKO_STARTUP_TIMEOUT.",
        epilog=environment_help(
            "DATABASE_ADMIN_URL",
            "DATABASE_URL",
            "NEZUKO_RUNTIME_ROLE",
            "NEZUKO_DATA_DIR",
            "LOG_FORMAT",
            "NEZUKO_STARTUP_TIMEOUT",
        ),
    )
    parser.add_argument(
        "--revision", default="head", help="alembic revision to upgrade to (default: head)"
    )
    parser.add_argument(
        "--runtime-role",
        default=None,
        help="role to grant the runtime rights "
        "(default: NEZUKO_RUNTIME_ROLE, else DATABASE_URL's user)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Migrate; log what was done or why it failed, and return the exit code."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"nezuko migrate: {error}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings)
    return asyncio.run(run_migrate(settings, str(args.revision), args.runtime_role))


async def run_migrate(settings: Settings, revision: str, requested_role: str | None) -> int:
    """The body of `nezuko migrate`, with the settings passed in.

    Every outcome is one log line (`migrate.done`, or `migrate.failed` with the exit code and
    what to do); an unreachable database is waited for up to `NEZUKO_STARTUP_TIMEOUT`, as by
    `nezuko run`.
    """
    try:
        done = await _migrate(settings, revision, requested_role)
    except Exception as error:
        failure = _explain(error, settings)
        if failure is None:
            raise
        # A driver's message may quote a URL; never print a password.
        reason = Redactor(settings.secrets).scrub(failure.reason)
        log.error("migrate.failed exit_code=%s reason=%s", failure.exit_code, reason)
        return failure.exit_code
    log.info("migrate.done %s", done)
    return 0


async def _migrate(settings: Settings, revision: str, requested_role: str | None) -> str:
    """Migrate as configured; return what was done."""
    admin_url = settings.database_admin_url
    if admin_url:
        role = runtime_role(
            requested_role, configured=settings.runtime_role, database_url=settings.database_url
        )
        if not role:
            raise StartupFailure(
                "name the runtime role with --runtime-role, NEZUKO_RUNTIME_ROLE or DATABASE_URL",
                EXIT_USAGE,
            )
        await retrying(
            lambda: migrate(admin_url, role, revision=revision),
            transient=_unreachable,
            window=settings.startup_timeout,
            dependency=f"the database ({describe_url(admin_url)})",
            advice="start PostgreSQL, or fix DATABASE_ADMIN_URL's host and port "
            "(NEZUKO_STARTUP_TIMEOUT sets how long to wait)",
        )
        return f"schema at {revision} ({describe_url(admin_url)}); runtime role {role!r} granted"
    if settings.database_url:
        raise StartupFailure(
            "DATABASE_URL is set but DATABASE_ADMIN_URL is not; migrations run as the tables' "
            "owner: set DATABASE_ADMIN_URL",
            EXIT_USAGE,
        )
    async with embedded_database(settings.data_dir):
        pass
    return f"embedded database under {settings.data_dir} is at head"


def _unreachable(error: BaseException) -> bool:
    """Whether the migration failed because the database does not answer (yet)."""
    if not isinstance(error, DatabaseSetupError):
        return False
    cause = error.__cause__
    code = sqlstate(cause) if cause is not None else None
    if code is not None:
        return code in UNREACHABLE_SQLSTATES
    while cause is not None:  # no SQLSTATE: was it the connection itself?
        if isinstance(cause, OSError | TimeoutError):
            return True
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return False


def _explain(error: BaseException, settings: Settings) -> StartupFailure | None:
    """The one line and exit code for an expected failure; None for a bug."""
    if isinstance(error, InvalidDatabaseUrl):
        return StartupFailure(str(error), EXIT_USAGE)
    if isinstance(error, DatabaseSetupError):
        cause = error.__cause__
        code = sqlstate(cause) if cause is not None else None
        if code in AUTHENTICATION_SQLSTATES or code == "3D000":
            return StartupFailure(
                f"{error}: fix DATABASE_ADMIN_URL's user, password or database name", EXIT_USAGE
            )
        return StartupFailure(str(error), EXIT_FAILED)
    if isinstance(error, StorageError):
        return StartupFailure(str(error), EXIT_FAILED)
    return explain(error, settings)
