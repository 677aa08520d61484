"""`nezuko migrate`: bring the schema, its policies and the runtime role's grants up to date.

Configured like `nezuko run` (`Settings`: the environment, else `.env`). With `DATABASE_ADMIN_URL`
set, migrations run as that role (the tables' owner) and grant the runtime role (`--runtime-role`,
else `NEZUKO_RUNTIME_ROLE`, else `DATABASE_URL`'s user) exactly the rights it needs. With neither
`DATABASE_URL` nor `DATABASE_ADMIN_URL` set, the embedded server under `NEZUKO_DATA_DIR` is
started, prepared, migrated and stopped again.
"""

import argparse
import asyncio
import sys
from collections.abc import Callable

from adapters.postgres.embedded import embedded_database
from adapters.postgres.errors import DatabaseSetupError
from adapters.postgres.migrations import migrate, runtime_role
from adapters.postgres.urls import InvalidDatabaseUrl, describe_url
from application.errors import StorageError
from bootstrap.observability import Redactor
from bootstrap.settings import Settings, SettingsError, environment_help

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
        "exit codes: 0 migrated; 1 the migration failed; 2 configuration.",
        epilog=environment_help(
            "DATABASE_ADMIN_URL", "DATABASE_URL", "NEZUKO_RUNTIME_ROLE", "NEZUKO_DATA_DIR"
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
    """Migrate; print what was done or why it failed, and return the exit code."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"nezuko migrate: {error}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(run_migrate(settings, str(args.revision), args.runtime_role))


async def run_migrate(settings: Settings, revision: str, requested_role: str | None) -> int:
    """The body of `nezuko migrate`, with the settings passed in."""
    admin_url = settings.database_admin_url
    try:
        if admin_url:
            role = runtime_role(
                requested_role,
                configured=settings.runtime_role,
                database_url=settings.database_url,
            )
            if not role:
                print(
                    "nezuko migrate: name the runtime role with --runtime-role, "
                    "NEZUKO_RUNTIME_ROLE or DATABASE_URL",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            await migrate(admin_url, role, revision=revision)
            print(
                f"nezuko migrate: schema at {revision} ({describe_url(admin_url)}); "
                f"runtime role {role!r} granted"
            )
            return 0
        if settings.database_url:
            print(
                "nezuko migrate: DATABASE_URL is set but DATABASE_ADMIN_URL is not; migrations "
                "run as the tables' owner",
                file=sys.stderr,
            )
            return EXIT_USAGE
        async with embedded_database(settings.data_dir):
            pass
        print(f"nezuko migrate: embedded database under {settings.data_dir} is at head")
        return 0
    except (InvalidDatabaseUrl, DatabaseSetupError, StorageError) as error:
        # A driver's message may quote a URL; never print a password.
        print(Redactor(settings.secrets).scrub(f"nezuko migrate: {error}"), file=sys.stderr)
        return EXIT_FAILED
