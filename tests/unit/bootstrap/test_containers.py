"""The composition root resolves every use case, with either persistence family."""

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.memory.messenger import InMemoryMessenger
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.telegram.handlers import Commands, Events
from application.audit_trail import LoggedUnitOfWork
from application.use_cases.enforce_membership import EnforceMembership
from application.use_cases.protect_group import ProtectGroup
from bootstrap.containers import Container, memory_container, postgres_container

NOT_USE_CASES = (
    *("persistence", "messenger", "clock", "uow", "directory", "invalidations"),  # ports
    *("memberships", "groups", "throttle", "outbox", "usernames"),  # caches and the doorbell
    *("local_memberships", "local_groups", "cache_invalidation"),  # what other workers change
    *("lookups", "notices", "raids", "restrictions", "gate", "targets"),  # shared collaborators
    *("events", "commands", "senders"),  # the handlers' and the paced sender's groups
)
USE_CASES = [name for name in Container.providers if name not in NOT_USE_CASES]


def test_every_use_case_is_wired_on_memory_adapters() -> None:
    messenger = InMemoryMessenger()
    use_cases = memory_container(messenger)
    use_cases.check_dependencies()
    built = {name: getattr(use_cases, name)() for name in USE_CASES}
    assert len(built) == 36
    assert isinstance(built["enforce_membership"], EnforceMembership)
    protect = built["protect_group"]
    assert isinstance(protect, ProtectGroup)
    assert protect.messenger is messenger
    assert isinstance(protect.uow, LoggedUnitOfWork)
    assert isinstance(protect.uow.inner, InMemoryUnitOfWork)
    # one set of collaborators (and so one set of in-process caches and locks) for every use case
    verify, explain = built["press_verify"], built["explain_member"]
    assert verify.lookups is explain.lookups
    assert verify.restrictions is built["run_due_actions"].restrictions
    assert protect.groups is verify.lookups.groups
    assert protect.uow is verify.uow
    # the join rate counted on the hot path is the one the raid notice's refresh reads
    assert built["enforce_membership"].raids is built["refresh_raid"].raids
    assert built["control_raid"].raids is built["refresh_raid"].raids


def test_the_handlers_get_every_use_case_from_the_container() -> None:
    use_cases = memory_container(InMemoryMessenger())
    events, commands = use_cases.events(), use_cases.commands()
    assert isinstance(events, Events)
    assert isinstance(commands, Commands)
    assert isinstance(events.enforce, EnforceMembership)
    assert events.group_member.enforce.lookups is events.verify.lookups
    assert events.stale_warning.uow is events.verify.stale_warnings.uow


@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_every_use_case_is_wired_on_postgres_adapters() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # never used
    try:
        use_cases = postgres_container(InMemoryMessenger(), engine)
        use_cases.check_dependencies()
        for name in USE_CASES:
            assert getattr(use_cases, name)() is not None
        uow = use_cases.lookups().uow
        assert isinstance(uow, LoggedUnitOfWork)
        assert isinstance(uow.inner, PostgresUnitOfWork)
        assert use_cases.protect_group().uow is use_cases.lookups().uow
    finally:
        await engine.dispose()
