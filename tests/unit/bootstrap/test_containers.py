"""The composition root resolves every use case, with either persistence family."""

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.memory.messenger import InMemoryMessenger
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from application.use_cases.enforce_on_message import EnforceOnMessage
from application.use_cases.protect_group import ProtectGroup
from bootstrap.containers import Container, memory_container, postgres_container

PORTS = ("messenger", "clock", "uow", "directory", "memberships", "groups", "throttle")
USE_CASES = [name for name in Container.providers if name not in (*PORTS, "enforcer")]


def test_every_use_case_is_wired_on_memory_adapters() -> None:
    messenger = InMemoryMessenger()
    use_cases = memory_container(messenger)
    use_cases.check_dependencies()
    built = {name: getattr(use_cases, name)() for name in USE_CASES}
    assert len(built) == 17
    assert isinstance(built["enforce_on_message"], EnforceOnMessage)
    protect = built["protect_group"]
    assert isinstance(protect, ProtectGroup)
    assert protect.enforcer.messenger is messenger
    assert isinstance(protect.enforcer.uow, InMemoryUnitOfWork)
    # one enforcer (and so one set of in-process caches) shared by every use case
    assert protect.enforcer is built["press_verify"].enforcer


@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_every_use_case_is_wired_on_postgres_adapters() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # never used
    try:
        use_cases = postgres_container(InMemoryMessenger(), engine)
        use_cases.check_dependencies()
        for name in USE_CASES:
            assert getattr(use_cases, name)() is not None
        assert isinstance(use_cases.enforcer().uow, PostgresUnitOfWork)
    finally:
        await engine.dispose()
