"""The unit of work over PostgreSQL: one pooled connection and transaction per `begin(tenant)`."""

import logging
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.postgres.connection import TenantConnection
from adapters.postgres.errors import storage_errors
from adapters.postgres.repositories import (
    PostgresAuditLog,
    PostgresExemptionRepository,
    PostgresGroupRepository,
    PostgresJoinRequestRepository,
    PostgresKnownMemberRepository,
    PostgresRestrictionRepository,
    PostgresScheduledActionRepository,
)
from application.ports.repositories import (
    AuditLog,
    ExemptionRepository,
    GroupRepository,
    JoinRequestRepository,
    KnownMemberRepository,
    RestrictionRepository,
    ScheduledActionRepository,
)
from application.ports.unit_of_work import Transaction, UnitOfWork
from domain.ids import GroupId

_log = logging.getLogger(__name__)


class PostgresTransaction(Transaction):
    """One database transaction in one tenant's scope, with the repositories bound to it."""

    groups: GroupRepository
    restrictions: RestrictionRepository
    exemptions: ExemptionRepository
    audit: AuditLog
    actions: ScheduledActionRepository
    join_requests: JoinRequestRepository
    members: KnownMemberRepository

    def __init__(self, session: TenantConnection) -> None:
        self._session = session
        self.groups = PostgresGroupRepository(session)
        self.restrictions = PostgresRestrictionRepository(session)
        self.exemptions = PostgresExemptionRepository(session)
        self.audit = PostgresAuditLog(session)
        self.actions = PostgresScheduledActionRepository(session)
        self.join_requests = PostgresJoinRequestRepository(session)
        self.members = PostgresKnownMemberRepository(session)

    async def commit(self) -> None:
        await self._session.commit()


class PostgresUnitOfWork(UnitOfWork):
    """Opens tenant-scoped transactions on an engine whose role is subject to row-level security.

    The engine must connect as the runtime role (not the tables' owner, not a superuser, not
    BYPASSRLS); `adapters.postgres.guard.ensure_runtime_role_is_safe` checks that at start-up.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def begin(self, tenant: GroupId) -> AbstractAsyncContextManager[Transaction]:
        return self._transaction(tenant)

    @asynccontextmanager
    async def _transaction(self, tenant: GroupId) -> AsyncGenerator[Transaction]:
        with storage_errors():
            connection = await self._engine.connect()
        try:
            yield PostgresTransaction(TenantConnection(connection, tenant))
        finally:
            await _release(connection)


async def _release(connection: AsyncConnection) -> None:
    """Roll back whatever was not committed and return the connection to the pool.

    A failure here (typically a connection the server dropped) is logged, not raised: nothing
    uncommitted survives it, and raising would hide the outcome of the block itself.
    """
    try:
        await connection.close()
    except Exception:
        _log.warning("discarding a database connection that failed to roll back", exc_info=True)
        await connection.invalidate()
