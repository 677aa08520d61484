"""The memory unit of work passes the persistence contract."""

import pytest

from adapters.memory.unit_of_work import InMemoryTenantDirectory, InMemoryUnitOfWork
from tests.contracts.persistence import UnitOfWorkContract
from tests.factories import new_group


class TestInMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork()

    @pytest.fixture
    def directory(self, uow: InMemoryUnitOfWork) -> InMemoryTenantDirectory:
        return InMemoryTenantDirectory(uow)

    async def test_commits_are_counted(self, uow: InMemoryUnitOfWork) -> None:
        async with uow.begin(new_group()) as tx:
            await tx.commit()
        assert uow.commits == 1
