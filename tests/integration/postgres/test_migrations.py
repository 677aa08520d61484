"""Migrations: every revision upgrades, downgrades and upgrades again; no drift from tables.py."""

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Index, MetaData, NullPool, Text, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.errors import DatabaseSetupError
from adapters.postgres.migrations import alembic_config, downgrade, migrate
from adapters.postgres.tables import TENANT_TABLES, metadata
from tests.integration.conftest import DatabaseFactory, ThrowawayDatabase


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


async def _admin_scalar(database: ThrowawayDatabase, query: str) -> Any:
    engine = create_async_engine(database.admin_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text(query))
    finally:
        await engine.dispose()


async def _tables(database: ThrowawayDatabase) -> set[str]:
    names = await _admin_scalar(
        database,
        "SELECT array_agg(tablename::text) FROM pg_tables WHERE schemaname = 'public'",
    )
    return set(names or [])


async def test_every_revision_upgrades_downgrades_and_upgrades_again(
    database_factory: DatabaseFactory,
) -> None:
    database = await database_factory(revision=None)
    runtime = database.spec.runtime
    revisions = _revisions_oldest_first()
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        await migrate(database.admin_url, runtime, revision=revision)
        await downgrade(database.admin_url, runtime, revision=previous)
        await migrate(database.admin_url, runtime, revision=revision)
        previous = revision
    assert await _admin_scalar(database, "SELECT version_num FROM alembic_version") == previous
    assert {table.name for table in TENANT_TABLES} <= await _tables(database)
    await downgrade(database.admin_url, runtime, revision="base")
    assert await _tables(database) == {"alembic_version"}
    functions = await _admin_scalar(
        database, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'directory_%'"
    )
    assert functions == 0


async def test_migrating_at_head_again_changes_nothing(test_database: ThrowawayDatabase) -> None:
    await migrate(test_database.admin_url, test_database.spec.runtime)
    assert (
        await _admin_scalar(test_database, "SELECT version_num FROM alembic_version")
        == (_revisions_oldest_first()[-1])
    )


async def _differences(database: ThrowawayDatabase, target: MetaData) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))

    engine = create_async_engine(database.admin_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_the_migrations_match_the_table_definitions(
    test_database: ThrowawayDatabase,
) -> None:
    assert await _differences(test_database, metadata) == []


async def test_the_comparison_does_notice_drift(test_database: ThrowawayDatabase) -> None:
    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["restrictions"].append_column(Column("note", Text, nullable=True))
    Index(None, drifted.tables["exemptions"].c.created_at)
    differences = await _differences(test_database, drifted)
    assert sorted(difference[0] for difference in differences) == ["add_column", "add_index"]


async def test_every_tenant_table_forces_row_level_security_with_the_tenant_policy(
    test_database: ThrowawayDatabase,
) -> None:
    engine = create_async_engine(test_database.admin_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                        "p.qual, p.with_check FROM pg_class c "
                        "JOIN pg_policies p ON p.tablename = c.relname "
                        "AND p.policyname = 'tenant_isolation' "
                        "WHERE c.relnamespace = 'public'::regnamespace"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    by_table = {row[0]: row[1:] for row in rows}
    assert set(by_table) == {table.name for table in TENANT_TABLES}
    for name, (enabled, forced, using, check) in by_table.items():
        assert enabled, name
        assert forced, name
        assert "current_setting('app.tenant_id'::text, true)" in using
        assert using == check


async def test_a_missing_runtime_role_fails_clearly(database_factory: DatabaseFactory) -> None:
    database = await database_factory(revision=None)
    with pytest.raises(
        DatabaseSetupError, match="runtime role 'no_such_role_here' does not exist"
    ):
        await migrate(database.admin_url, "no_such_role_here")


EXPECTED_RUNTIME_RIGHTS = {
    "groups": {"SELECT", "INSERT", "UPDATE"},
    "required_channels": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "restrictions": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "exemptions": {"SELECT", "INSERT", "DELETE"},
    "audit_events": {"SELECT", "INSERT"},
    "scheduled_actions": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "taken_updates": {"SELECT", "INSERT", "UPDATE", "DELETE"},  # the intake journal: no tenant
    "join_requests": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "known_members": {"SELECT", "INSERT", "UPDATE", "DELETE"},  # usernames seen (issue 11)
    "mute_claims": {"SELECT", "INSERT", "UPDATE", "DELETE"},  # the burst guard (issue 15)
    "send_budget": {"SELECT", "INSERT", "UPDATE", "DELETE"},  # the send budget: no tenant
}


async def test_the_runtime_role_gets_exactly_the_rights_the_adapters_use(
    test_database: ThrowawayDatabase,
) -> None:
    engine = create_async_engine(test_database.admin_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            grants = await connection.execute(
                text(
                    "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                    "WHERE grantee = :role"
                ),
                {"role": test_database.spec.runtime},
            )
            rights: dict[str, set[str]] = {}
            for table, privilege in grants:
                rights.setdefault(table, set()).add(privilege)
            functions = await connection.scalar(
                text(
                    "SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc "
                    "WHERE has_function_privilege(:role, oid, 'EXECUTE') "
                    "AND pronamespace = 'public'::regnamespace"
                ),
                {"role": test_database.spec.runtime},
            )
            creates = await connection.scalar(
                text("SELECT has_schema_privilege(:role, 'public', 'CREATE')"),
                {"role": test_database.spec.runtime},
            )
    finally:
        await engine.dispose()
    assert rights == EXPECTED_RUNTIME_RIGHTS
    assert functions == [
        "book_send",
        "directory_groups_muting",
        "directory_groups_requiring",
        "directory_groups_seen_with",
        "directory_groups_to_free",
        "directory_groups_with_due_actions",
        "directory_groups_with_unposted_log",
        "directory_statistics",
    ]
    assert creates is False
