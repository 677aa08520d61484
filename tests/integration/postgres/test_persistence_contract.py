"""The PostgreSQL unit of work and tenant directory pass the same contract as the memory twin."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.directory import PostgresTenantDirectory
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from tests.contracts.persistence import UnitOfWorkContract


class TestPostgresUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    async def uow(self, runtime_engine: AsyncEngine) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(runtime_engine)

    @pytest.fixture
    async def directory(self, runtime_engine: AsyncEngine) -> PostgresTenantDirectory:
        return PostgresTenantDirectory(runtime_engine)
