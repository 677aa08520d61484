"""`nezuko migrate`: bring the schema, its policies and the runtime role's grants up to date.

With `DATABASE_ADMIN_URL` set, migrations run as that role (the tables' owner) and grant the
runtime role (`--runtime-role`, else `NEZUKO_RUNTIME_ROLE`, else `DATABASE_URL`'s user) exactly
the rights it needs. With neither `DATABASE_URL` nor `DATABASE_ADMIN_URL` set, the embedded server
under `NEZUKO_DATA_DIR` is started, prepared, migrated and stopped again.
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping

from adapters.postgres.urls import InvalidDatabaseUrl, url_user
from application.errors import StorageError
from bootstrap.database import DatabaseSetupError, migrate, provide_database

EXIT_FAILED = 1
EXIT_USAGE = 2


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `migrate` sub-command."""
    parser = add_parser(
        "migrate",
        help="upgrade the database schema as its owner (DATABASE_ADMIN_URL) and grant the runtime "
        "role its rights; without any database URL, prepare the embedded database",
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
    return asyncio.run(run_migrate(os.environ, str(args.revision), args.runtime_role))


async def run_migrate(env: Mapping[str, str], revision: str, runtime_role: str | None) -> int:
    """The body of `nezuko migrate`, with the environment passed in."""
    admin_url = env.get("DATABASE_ADMIN_URL")
    try:
        if admin_url:
            role = runtime_role or env.get("NEZUKO_RUNTIME_ROLE")
            if not role and env.get("DATABASE_URL"):
                role = url_user(env["DATABASE_URL"])
            if not role:
                print(
                    "nezuko migrate: name the runtime role with --runtime-role, "
                    "NEZUKO_RUNTIME_ROLE or DATABASE_URL",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            await migrate(admin_url, role, revision=revision)
            print(f"nezuko migrate: schema at {revision}; runtime role {role!r} granted")
            return 0
        if env.get("DATABASE_URL"):
            print(
                "nezuko migrate: DATABASE_URL is set but DATABASE_ADMIN_URL is not; migrations "
                "run as the tables' owner",
                file=sys.stderr,
            )
            return EXIT_USAGE
        async with provide_database(env):
            pass
        data_dir = env.get("NEZUKO_DATA_DIR") or ".nezuko"
        print(f"nezuko migrate: embedded database under {data_dir} is at head")
        return 0
    except (InvalidDatabaseUrl, DatabaseSetupError, StorageError) as error:
        print(f"nezuko migrate: {error}", file=sys.stderr)
        return EXIT_FAILED
