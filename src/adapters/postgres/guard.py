"""The start-up guard: the runtime's database role must be unable to bypass row-level security."""

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import create_engine
from adapters.postgres.errors import storage_errors
from adapters.postgres.tables import TENANT_TABLES


class UnsafeDatabaseRole(Exception):
    """The runtime's database role could see or change every tenant's rows."""

    def __init__(self, role: str, problems: Iterable[str]) -> None:
        self.role = role
        self.problems = tuple(problems)
        super().__init__(role, self.problems)

    def __str__(self) -> str:
        listed = "; ".join(self.problems)
        return (
            f"refusing to run as database role {self.role!r}: {listed}. Connect with a role that "
            "is not a superuser, has NOBYPASSRLS and does not own the tables (the tables belong "
            "to the role of DATABASE_ADMIN_URL, which runs `nezuko migrate`)"
        )


class SchemaNotMigrated(Exception):
    """The database lacks the bot's tables: `nezuko migrate` has not run on it (or not lately)."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing = tuple(missing)
        super().__init__(self.missing)

    def __str__(self) -> str:
        return (
            f"the database schema is not migrated (missing tables: {', '.join(self.missing)}): "
            "run `nezuko migrate` with DATABASE_ADMIN_URL (the tables' owner) and DATABASE_URL, "
            "then start again"
        )


_ROLE = text(
    """
    SELECT current_user AS role,
           r.rolsuper AS superuser,
           r.rolbypassrls AS bypassrls,
           ARRAY(
               SELECT o.rolname FROM pg_roles o
               WHERE (o.rolsuper OR o.rolbypassrls) AND o.oid <> r.oid
                 AND pg_has_role(r.oid, o.oid, 'MEMBER')
               ORDER BY o.rolname
           ) AS privileged_memberships
    FROM pg_roles r WHERE r.rolname = current_user
    """
)

_TABLES = text(
    """
    SELECT c.relname AS name,
           pg_get_userbyid(c.relowner) AS owner,
           pg_has_role(current_user, c.relowner, 'MEMBER') AS owned,
           c.relrowsecurity AS rls,
           c.relforcerowsecurity AS forced
    FROM pg_class c
    WHERE c.oid = to_regclass(:name)
    """
)


async def runtime_role_problems(engine: AsyncEngine) -> tuple[str, tuple[str, ...]]:
    """The engine's role name and every reason it could bypass row-level security (none: safe).

    Raises:
        StorageError: the database could not be asked.
    """
    role, problems, missing = await _inspect(engine)
    tables = tuple(f"table {name} does not exist (run `nezuko migrate`)" for name in missing)
    return role, (*problems, *tables)


async def _inspect(engine: AsyncEngine) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The role's name, the reasons it could bypass row-level security, the missing tables."""
    problems: list[str] = []
    missing: list[str] = []
    with storage_errors():
        async with engine.connect() as connection:
            role = (await connection.execute(_ROLE)).mappings().one()
            if role["superuser"]:
                problems.append("it is a superuser")
            if role["bypassrls"]:
                problems.append("it has the BYPASSRLS attribute")
            memberships: list[str] = list(role["privileged_memberships"])
            if memberships:
                problems.append(
                    "it is a member of superuser or BYPASSRLS roles: " + ", ".join(memberships)
                )
            owned: list[str] = []
            unprotected: list[str] = []
            for table in TENANT_TABLES:
                row = (
                    (await connection.execute(_TABLES, {"name": f"public.{table.name}"}))
                    .mappings()
                    .one_or_none()
                )
                if row is None:
                    missing.append(table.name)
                    continue
                if row["owned"] and not role["superuser"]:  # a superuser is "member" of all
                    owned.append(f"{table.name} (owner {row['owner']})")
                if not (row["rls"] and row["forced"]):
                    unprotected.append(f"table {table.name} does not force row-level security")
            if owned:
                problems.append("it owns the tables " + ", ".join(owned))
            problems.extend(unprotected)
    return str(role["role"]), tuple(problems), tuple(missing)


async def ensure_runtime_role_is_safe(engine: AsyncEngine) -> None:
    """Refuse to start when the schema is missing or the role could bypass row-level security.

    Raises:
        SchemaNotMigrated: some of the bot's tables do not exist (the role is not judged then).
        UnsafeDatabaseRole: with every reason found (superuser, BYPASSRLS, owner of the tables…).
        StorageError: the database could not be asked.
    """
    role, problems, missing = await _inspect(engine)
    if missing:
        raise SchemaNotMigrated(missing)
    if problems:
        raise UnsafeDatabaseRole(role, problems)


async def open_runtime_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 5
) -> AsyncEngine:
    """The runtime's engine, after the start-up guard accepted its role.

    Raises:
        SchemaNotMigrated: the bot's tables do not exist (the engine is disposed of first).
        UnsafeDatabaseRole: the role is a superuser, has BYPASSRLS or owns the tables (the engine
            is disposed of first).
        StorageError: the database could not be reached.
    """
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    try:
        await ensure_runtime_role_is_safe(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine
