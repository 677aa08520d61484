"""The start-up guard refuses every role that could bypass row-level security."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.postgres.engine import create_engine
from adapters.postgres.guard import (
    SchemaNotMigrated,
    UnsafeDatabaseRole,
    ensure_runtime_role_is_safe,
    open_runtime_engine,
    runtime_role_problems,
)
from adapters.postgres.urls import parse_url
from application.errors import StorageError
from tests.integration.conftest import DatabaseFactory, ThrowawayDatabase, unique_name


async def _refusal(url: str) -> UnsafeDatabaseRole:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(UnsafeDatabaseRole) as raised:
            await ensure_runtime_role_is_safe(engine)
    finally:
        await engine.dispose()
    return raised.value


@pytest.fixture
async def bypass_role_url(test_database: ThrowawayDatabase) -> AsyncIterator[str]:
    """A login role with BYPASSRLS (and the runtime's table rights), dropped afterwards."""
    role = unique_name("nezuko_bypass")
    password = "0123456789abcdef0123"
    admin = create_async_engine(
        test_database.superuser_url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(f"CREATE ROLE {role} LOGIN NOSUPERUSER BYPASSRLS PASSWORD '{password}'")
            )
            await connection.execute(text(f"GRANT {test_database.spec.runtime} TO {role}"))
        yield (
            parse_url(test_database.superuser_url)
            .set(username=role, password=password)
            .render_as_string(hide_password=False)
        )
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await admin.dispose()


async def test_the_runtime_role_is_accepted(test_database: ThrowawayDatabase) -> None:
    engine = await open_runtime_engine(test_database.runtime_url, pool_size=1, max_overflow=0)
    try:
        role, problems = await runtime_role_problems(engine)
    finally:
        await engine.dispose()
    assert role == test_database.spec.runtime
    assert problems == ()


async def test_a_superuser_is_refused(test_database: ThrowawayDatabase) -> None:
    refusal = await _refusal(test_database.superuser_url)
    assert "it is a superuser" in refusal.problems
    assert not any("owns the tables" in problem for problem in refusal.problems)  # it does not
    assert "refusing to run as database role" in str(refusal)


async def test_a_bypassrls_role_is_refused(bypass_role_url: str) -> None:
    refusal = await _refusal(bypass_role_url)
    assert refusal.problems == ("it has the BYPASSRLS attribute",)


async def test_the_owner_of_the_tables_is_refused(test_database: ThrowawayDatabase) -> None:
    refusal = await _refusal(test_database.admin_url)
    assert len(refusal.problems) == 1
    assert refusal.problems[0].startswith("it owns the tables groups (owner ")
    assert "scheduled_actions" in refusal.problems[0]


async def test_open_runtime_engine_refuses_and_disposes(test_database: ThrowawayDatabase) -> None:
    with pytest.raises(UnsafeDatabaseRole, match="owns the tables"):
        await open_runtime_engine(test_database.admin_url)


async def test_a_database_without_the_schema_is_refused(
    database_factory: DatabaseFactory,
) -> None:
    empty = await database_factory(revision=None)
    engine = create_engine(empty.runtime_url, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(SchemaNotMigrated) as raised:
            await ensure_runtime_role_is_safe(engine)
        _, problems = await runtime_role_problems(engine)
    finally:
        await engine.dispose()
    assert "groups" in raised.value.missing
    assert "run `nezuko migrate`" in str(raised.value)
    assert "refusing to run as database role" not in str(raised.value)  # not about the role
    assert "table groups does not exist (run `nezuko migrate`)" in problems


async def test_an_unreachable_database_is_a_storage_error() -> None:
    engine: AsyncEngine = create_engine("postgresql://nobody:x@127.0.0.1:9/none", pool_size=1)
    try:
        with pytest.raises(StorageError):
            await ensure_runtime_role_is_safe(engine)
    finally:
        await engine.dispose()


async def test_a_table_without_forced_row_level_security_is_refused(
    database_factory: DatabaseFactory,
) -> None:
    database = await database_factory()
    owner = create_async_engine(database.admin_url, poolclass=NullPool)
    try:
        async with owner.begin() as connection:
            await connection.execute(text("ALTER TABLE exemptions NO FORCE ROW LEVEL SECURITY"))
    finally:
        await owner.dispose()
    refusal = await _refusal(database.runtime_url)
    assert refusal.problems == ("table exemptions does not force row-level security",)
