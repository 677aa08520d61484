"""One pooled connection in one tenant's scope, shared by a transaction's repositories."""

from typing import Any

from sqlalchemy import Executable, Text, bindparam, text
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.postgres.errors import storage_errors
from domain.ids import GroupId

SET_TENANT = text("SELECT set_config('app.tenant_id', :tenant, true)").bindparams(
    bindparam("tenant", type_=Text)
)
"""Scope the current transaction (only: `is_local` is true) to one tenant."""


class TenantConnection:
    """Runs statements on one connection, always inside a transaction scoped to `tenant`.

    The scope is set lazily by the first statement of every database transaction, so a transaction
    that commits and goes on working is scoped again, and a connection never carries a tenant
    beyond the transaction that set it (the setting is transaction-local).

    A pooled connection that was recently used is not pinged before it is handed out
    (`engine.PING_IDLE_AFTER`): when the very first statement finds it dropped (a server
    restart, a terminated session), nothing has run in the transaction yet, so it begins again
    once on a fresh connection. A drop later in the transaction is a `StorageError`.
    """

    def __init__(self, connection: AsyncConnection, tenant: GroupId) -> None:
        self._connection = connection
        self.tenant = tenant
        self._used = False

    async def execute(
        self,
        statement: Executable,
        parameters: dict[str, Any] | list[dict[str, Any]] | None = None,
    ) -> CursorResult[Any]:
        """Run one statement in the tenant's scope.

        Raises:
            StorageConflict: a unique key or serialization conflict with a concurrent transaction.
            StorageError: any other database failure.
        """
        with storage_errors():
            if not self._connection.in_transaction():
                try:
                    await self._scope()
                except DBAPIError as error:
                    if self._used or not error.connection_invalidated:
                        raise
                    await self._connection.rollback()  # lets the connection reconnect
                    await self._scope()
            self._used = True
            return await self._connection.execute(statement, parameters)

    async def _scope(self) -> None:
        """Begin a transaction scoped to the tenant."""
        await self._connection.begin()
        await self._connection.execute(SET_TENANT, {"tenant": str(self.tenant)})

    async def commit(self) -> None:
        """Commit the current database transaction, if one is open.

        Raises:
            StorageConflict: a concurrent transaction won.
            StorageError: the database failed; nothing was written.
        """
        with storage_errors():
            if self._connection.in_transaction():
                await self._connection.commit()
