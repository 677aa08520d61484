"""A database and its two roles on a PostgreSQL server: the tables' owner and the runtime role.

The runtime role never owns the tables and cannot bypass row-level security; the owner runs the
migrations (`migrations.migrate`), which grant the runtime role exactly the rights it needs.
"""

import re
import secrets
from typing import Self

import attrs
from sqlalchemy import NullPool, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.postgres.errors import DatabaseSetupError, translate
from adapters.postgres.migrations import migrate
from adapters.postgres.urls import async_url, parse_url

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _masked(url: str | None) -> str:
    return "None" if url is None else repr(parse_url(url).render_as_string(hide_password=True))


@attrs.frozen
class DatabaseUrls:
    """Where the runtime connects, and where migrations run (when known). Reprs hide passwords."""

    runtime: str = attrs.field(repr=_masked)
    """`postgresql+asyncpg://` URL of the runtime role (not the owner, no RLS bypass)."""
    admin: str | None = attrs.field(repr=_masked)
    """`postgresql+asyncpg://` URL of the tables' owner, used to migrate."""


@attrs.frozen
class DatabaseSpec:
    """A database and its two roles, as `provision_database` creates them."""

    name: str
    owner: str
    owner_password: str = attrs.field(repr=False)
    runtime: str
    runtime_password: str = attrs.field(repr=False)

    @classmethod
    def generate(cls, name: str, owner: str, runtime: str) -> Self:
        """A spec with fresh random passwords."""
        return cls(name, owner, new_password(), runtime, new_password())

    def urls(self, server_url: str) -> DatabaseUrls:
        """The owner's and the runtime role's URLs on the server that `server_url` points at."""
        base = parse_url(server_url).set(database=self.name)
        return DatabaseUrls(
            runtime=base.set(
                username=self.runtime, password=self.runtime_password
            ).render_as_string(hide_password=False),
            admin=base.set(username=self.owner, password=self.owner_password).render_as_string(
                hide_password=False
            ),
        )


def new_password() -> str:
    """A fresh random password (hex, so it is safe to quote in DDL)."""
    return secrets.token_hex(24)


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        msg = f"not a plain lower-case SQL identifier: {name!r}"
        raise DatabaseSetupError(msg)
    return name


def _literal(password: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{16,}", password):
        msg = "generated passwords are hex strings"
        raise DatabaseSetupError(msg)
    return f"'{password}'"


def _admin_engine(url: str) -> AsyncEngine:
    return create_async_engine(async_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")


async def provision_database(
    superuser_url: str, spec: DatabaseSpec, *, revision: str | None = "head"
) -> DatabaseUrls:
    """Create (or update) the spec's roles and database, then migrate it to `revision`.

    Idempotent: existing roles get the spec's passwords and safe attributes again. Needs a
    superuser (or a role with CREATEROLE and CREATEDB) in `superuser_url`. `revision=None` leaves
    the new database empty.
    """
    name, runtime = _identifier(spec.name), _identifier(spec.runtime)
    engine = _admin_engine(superuser_url)
    try:
        await _create_roles_and_database(engine, spec)
    except (SQLAlchemyError, OSError) as error:
        # The driver's message only: the statement text would show the passwords.
        msg = f"preparing database {name} failed: {translate(error)}"
        raise DatabaseSetupError(msg) from error
    finally:
        await engine.dispose()
    urls = spec.urls(superuser_url)
    assert urls.admin is not None
    if revision is not None:
        await migrate(urls.admin, runtime, revision=revision)
    return urls


async def _create_roles_and_database(engine: AsyncEngine, spec: DatabaseSpec) -> None:
    name, owner, runtime = (_identifier(n) for n in (spec.name, spec.owner, spec.runtime))
    async with engine.connect() as connection:
        for role, password in ((owner, spec.owner_password), (runtime, spec.runtime_password)):
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
            )
            verb = "ALTER" if exists else "CREATE"
            await connection.execute(
                text(
                    f"{verb} ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB "
                    f"NOCREATEROLE PASSWORD {_literal(password)}"
                )
            )
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            await connection.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))


async def drop_database(superuser_url: str, spec: DatabaseSpec) -> None:
    """Drop the spec's database (closing its connections) and both roles."""
    engine = _admin_engine(superuser_url)
    try:
        async with engine.connect() as connection:
            name = _identifier(spec.name)
            await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            for role in (spec.runtime, spec.owner):
                await connection.execute(text(f"DROP ROLE IF EXISTS {_identifier(role)}"))
    finally:
        await engine.dispose()
