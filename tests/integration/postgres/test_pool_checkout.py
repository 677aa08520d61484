"""A pool checkout that times out is a `StorageError`, which the bot retries (rule 11).

With the server hung and more writers than connections, writers wait for a pooled connection
until the checkout timeout. That must surface as the storage failure the handler retry waits
out (`adapters.telegram.backpressure`), never as an exception that drops the update.
"""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import create_engine
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from application.errors import StorageError
from tests.factories import new_group
from tests.integration.conftest import ThrowawayDatabase


async def test_a_pool_checkout_timeout_is_a_storage_error(
    test_database: ThrowawayDatabase,
) -> None:
    engine: AsyncEngine = create_engine(
        test_database.runtime_url, pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    try:
        uow = PostgresUnitOfWork(engine)
        group = new_group()
        async with uow.begin(group):  # holds the only connection
            with pytest.raises(StorageError):
                async with uow.begin(group):
                    pass
        async with uow.begin(group) as tx:  # and the pool works again afterwards
            assert await tx.groups.get(group) is None
    finally:
        await engine.dispose()
