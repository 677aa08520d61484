"""Row-level security, proven on the database itself for every tenant table (DESIGN §3).

The statements here are raw SQLAlchemy Core on the runtime role's connections, so they show what
the database refuses, not what the repositories happen to avoid asking.
"""

import uuid
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.postgres import tables as t
from adapters.postgres.connection import SET_TENANT
from adapters.postgres.engine import create_engine
from adapters.postgres.errors import sqlstate
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from tests.factories import make_channel, make_policy, new_channel, new_group, new_user
from tests.integration.conftest import ThrowawayDatabase

NOW = datetime(2026, 1, 1, tzinfo=UTC)
INSUFFICIENT_PRIVILEGE = "42501"


def _row(table: Table, tenant: int) -> dict[str, Any]:
    rows: dict[str, Callable[[], dict[str, Any]]] = {
        "groups": lambda: {"tenant_id": tenant, "title": "g", "warning_ttl": timedelta(minutes=2)},
        "required_channels": lambda: {
            "tenant_id": tenant,
            "channel_id": new_channel(),
            "position": 0,
            "title": "c",
        },
        "restrictions": lambda: {
            "tenant_id": tenant,
            "user_id": new_user(),
            "missing": [new_channel()],
            "since": NOW,
        },
        "exemptions": lambda: {"tenant_id": tenant, "user_id": new_user()},
        "audit_events": lambda: {"tenant_id": tenant, "kind": "muted", "at": NOW},
        "scheduled_actions": lambda: {
            "action_id": uuid.uuid4(),
            "tenant_id": tenant,
            "kind": "delete_message",
            "due_at": NOW,
        },
        "join_requests": lambda: {
            "tenant_id": tenant,
            "user_id": (user := new_user()),
            "user_chat_id": user,
            "requested_at": NOW,
        },
        "known_members": lambda: {
            "tenant_id": tenant,
            "user_id": new_user(),
            "username": f"user{new_user()}",
        },
        "mute_claims": lambda: {
            "tenant_id": tenant,
            "user_id": new_user(),
            "claimed_at": NOW,
            "claimed_by": 1,
        },
    }
    return rows[table.name]()


# A column each table's rows can be updated in without breaking a constraint.
_UPDATES: dict[str, dict[str, Any]] = {
    "groups": {"title": "changed"},
    "required_channels": {"title": "changed"},
    "restrictions": {"since": NOW + timedelta(days=1)},
    "exemptions": {"created_at": NOW},
    "audit_events": {"reason": "changed"},
    "scheduled_actions": {"attempts": 9},
    "join_requests": {"message_id": 9},
    "known_members": {"seen_at": NOW},
    "mute_claims": {"claimed_at": NOW + timedelta(days=1)},
}

TABLES = pytest.mark.parametrize("table", t.TENANT_TABLES, ids=lambda table: table.name)


@asynccontextmanager
async def scoped(engine: AsyncEngine, tenant: int | None) -> AsyncGenerator[AsyncConnection]:
    """A transaction on `engine` scoped to `tenant` (`None`: no tenant set), rolled back."""
    async with engine.connect() as connection, connection.begin() as transaction:
        if tenant is not None:
            await connection.execute(SET_TENANT, {"tenant": str(tenant)})
        yield connection
        if transaction.is_active:
            await transaction.rollback()


async def seed(engine: AsyncEngine, table: Table, tenant: int) -> dict[str, Any]:
    """Insert one row of `table` for `tenant` (with its group, when the table needs one)."""
    row = _row(table, tenant)
    async with engine.connect() as connection, connection.begin():
        await connection.execute(SET_TENANT, {"tenant": str(tenant)})
        if table is t.required_channels:
            await connection.execute(insert(t.groups).values(_row(t.groups, tenant)))
        await connection.execute(insert(table).values(row))
    return row


async def count(connection: AsyncConnection, table: Table, tenant: int | None = None) -> int:
    """Rows of `table` the connection sees (of `tenant` only, if given)."""
    query = select(func.count()).select_from(table)
    if tenant is not None:
        query = query.where(table.c.tenant_id == tenant)
    return int(await connection.scalar(query) or 0)


async def attempt(connection: AsyncConnection, statement: Any) -> DBAPIError | int:
    """Run the statement in a savepoint that is always rolled back: its error, or its rowcount."""
    savepoint = await connection.begin_nested()
    try:
        return (await connection.execute(statement)).rowcount
    except DBAPIError as error:
        return error
    finally:
        await savepoint.rollback()


async def refused_or_nothing(connection: AsyncConnection, statement: Any) -> None:
    """The statement changes no row: either the database refuses it or it matches nothing."""
    outcome = await attempt(connection, statement)
    if isinstance(outcome, DBAPIError):
        assert sqlstate(outcome) == INSUFFICIENT_PRIVILEGE, outcome
    else:
        assert outcome == 0


@TABLES
async def test_a_tenant_cannot_select_another_tenants_rows(
    runtime_engine: AsyncEngine, table: Table
) -> None:
    mine, theirs = new_group(), new_group()
    await seed(runtime_engine, table, theirs)
    await seed(runtime_engine, table, mine)
    async with scoped(runtime_engine, mine) as connection:
        assert await count(connection, table, theirs) == 0
        assert await count(connection, table, mine) == 1
        tenants = await connection.scalars(select(table.c.tenant_id).distinct())
        assert set(tenants) == {mine}
    async with scoped(runtime_engine, theirs) as connection:
        assert await count(connection, table, theirs) == 1


@TABLES
async def test_a_tenant_cannot_insert_rows_of_another_tenant(
    runtime_engine: AsyncEngine, table: Table
) -> None:
    mine, theirs = new_group(), new_group()
    if table is t.required_channels:
        await seed(runtime_engine, t.groups, theirs)  # the foreign key alone would not stop it
    async with scoped(runtime_engine, mine) as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(insert(table).values(_row(table, theirs)))
        assert sqlstate(raised.value) == INSUFFICIENT_PRIVILEGE
        assert "row-level security" in str(raised.value)


@TABLES
async def test_a_tenant_cannot_update_or_delete_another_tenants_rows(
    runtime_engine: AsyncEngine, table: Table
) -> None:
    mine, theirs = new_group(), new_group()
    stored = await seed(runtime_engine, table, theirs)
    await seed(runtime_engine, table, mine)
    async with scoped(runtime_engine, mine) as connection:
        of_theirs = table.c.tenant_id == theirs
        await refused_or_nothing(
            connection, update(table).where(of_theirs).values(_UPDATES[table.name])
        )
        await refused_or_nothing(connection, delete(table).where(of_theirs))
        # Nor can a tenant hand its own rows over to another tenant.
        of_mine = table.c.tenant_id == mine
        handed_over = await attempt(
            connection, update(table).where(of_mine).values(tenant_id=theirs)
        )
        assert isinstance(handed_over, DBAPIError)
        assert sqlstate(handed_over) == INSUFFICIENT_PRIVILEGE
        await connection.commit()
    async with scoped(runtime_engine, theirs) as connection:
        row = (await connection.execute(select(table).where(table.c.tenant_id == theirs))).one()
        for column, value in stored.items():
            assert getattr(row, column) == value


@TABLES
async def test_without_a_tenant_no_rows_are_visible(
    runtime_engine: AsyncEngine, table: Table
) -> None:
    await seed(runtime_engine, table, new_group())
    async with scoped(runtime_engine, None) as connection:
        assert await count(connection, table) == 0
    async with runtime_engine.connect() as connection:  # autobegun, never scoped
        assert await count(connection, table) == 0


@TABLES
async def test_the_owner_too_is_held_to_the_tenant_for_writes(
    admin_engine: AsyncEngine, runtime_engine: AsyncEngine, table: Table
) -> None:
    """FORCE ROW LEVEL SECURITY: the owner is no exception (it only reads across tenants)."""
    mine, theirs = new_group(), new_group()
    if table is t.required_channels:
        await seed(runtime_engine, t.groups, theirs)
    async with scoped(admin_engine, mine) as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(insert(table).values(_row(table, theirs)))
        assert sqlstate(raised.value) == INSUFFICIENT_PRIVILEGE


async def test_a_pooled_connection_carries_no_tenant_into_its_next_use(
    test_database: ThrowawayDatabase,
) -> None:
    engine = create_engine(test_database.runtime_url, pool_size=1, max_overflow=0)
    try:
        uow = PostgresUnitOfWork(engine)
        group = new_group()
        async with uow.begin(group) as tx:
            await tx.groups.save(make_policy(group, make_channel()))
            await tx.commit()
        async with engine.connect() as connection:
            first_backend = await connection.scalar(text("SELECT pg_backend_pid()"))
        for leave in ("commit", "rollback", "error"):
            try:
                async with uow.begin(group) as tx:
                    assert await tx.groups.get(group) is not None
                    if leave == "commit":
                        await tx.commit()
                    elif leave == "error":
                        raise LookupError(leave)
            except LookupError:
                pass
            async with engine.connect() as connection:
                assert await connection.scalar(text("SELECT pg_backend_pid()")) == first_backend
                setting = await connection.scalar(
                    text("SELECT current_setting('app.tenant_id', true)")
                )
                assert setting in (None, "")
                assert await count(connection, t.groups) == 0
    finally:
        await engine.dispose()


async def test_a_committed_transaction_that_goes_on_stays_in_its_tenant(
    runtime_engine: AsyncEngine,
) -> None:
    group, user = new_group(), new_user()
    uow = PostgresUnitOfWork(runtime_engine)
    async with uow.begin(group) as tx:
        assert await tx.exemptions.add(group, user)
        await tx.commit()
        assert await tx.exemptions.all(group) == frozenset({user})
        assert await tx.exemptions.remove(group, user)
    async with uow.begin(group) as tx:
        assert await tx.exemptions.all(group) == frozenset({user})


REFUSED_STATEMENTS = {
    "disable RLS": "ALTER TABLE groups DISABLE ROW LEVEL SECURITY",
    "stop forcing RLS": "ALTER TABLE groups NO FORCE ROW LEVEL SECURITY",
    "drop the policy": "DROP POLICY tenant_isolation ON groups",
    "add a policy": "CREATE POLICY everything ON groups USING (true)",
    "truncate": "TRUNCATE restrictions",
    "grant itself bypass": "ALTER ROLE CURRENT_USER BYPASSRLS",
    "rewrite the audit trail": "UPDATE audit_events SET reason = 'x'",
    "erase the audit trail": "DELETE FROM audit_events",
    "delete groups": "DELETE FROM groups",
}


@pytest.mark.parametrize("statement", REFUSED_STATEMENTS.values(), ids=REFUSED_STATEMENTS.keys())
async def test_the_runtime_role_cannot_lift_the_policies(
    runtime_engine: AsyncEngine, statement: str
) -> None:
    async with scoped(runtime_engine, new_group()) as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(text(statement))
        assert sqlstate(raised.value) == INSUFFICIENT_PRIVILEGE


async def test_the_runtime_role_cannot_become_the_owner(
    runtime_engine: AsyncEngine, test_database: ThrowawayDatabase
) -> None:
    async with scoped(runtime_engine, None) as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(text(f"SET ROLE {test_database.spec.owner}"))
        assert sqlstate(raised.value) == INSUFFICIENT_PRIVILEGE


async def test_switching_row_security_off_is_an_error_not_a_bypass(
    runtime_engine: AsyncEngine,
) -> None:
    await seed(runtime_engine, t.groups, new_group())
    async with scoped(runtime_engine, None) as connection:
        await connection.execute(text("SET LOCAL row_security = off"))
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(select(func.count()).select_from(t.groups))
        assert sqlstate(raised.value) == INSUFFICIENT_PRIVILEGE
        assert "row-level security" in str(raised.value)


async def test_directory_functions_answer_ids_and_nothing_else(
    runtime_engine: AsyncEngine, test_database: ThrowawayDatabase
) -> None:
    group, channel = new_group(), new_channel()
    uow = PostgresUnitOfWork(runtime_engine)
    async with uow.begin(group) as tx:
        await tx.groups.save(make_policy(group, make_channel(channel)))
        await tx.commit()
    async with scoped(runtime_engine, None) as connection:
        rows = (
            await connection.execute(
                text("SELECT * FROM directory_groups_requiring(:c)"), {"c": channel}
            )
        ).all()
        assert [tuple(row) for row in rows] == [(group,)]
        security = await connection.execute(
            text(
                "SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner), p.proconfig "
                "FROM pg_proc p WHERE p.proname LIKE 'directory_%' ORDER BY 1"
            )
        )
        for name, definer, owner, config in security:
            assert definer, name
            assert owner == test_database.spec.owner
            assert config == ["search_path=pg_catalog, pg_temp"]
        # PUBLIC may not execute them: only the runtime role was granted.
        executable_by_public = await connection.scalar(
            text(
                "SELECT bool_or(has_function_privilege('public', p.oid, 'EXECUTE')) "
                "FROM pg_proc p WHERE p.proname LIKE 'directory_%'"
            )
        )
        assert executable_by_public is False
