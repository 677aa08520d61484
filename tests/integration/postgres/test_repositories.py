"""PostgreSQL-specific behaviour of the repositories, beyond the shared contract."""

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.unit_of_work import PostgresUnitOfWork
from application.errors import StorageConflict, StorageError
from tests.factories import T0, make_action, make_channel, make_policy, new_group


async def test_rescheduling_another_tenants_action_fails_loudly(
    runtime_engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    mine, theirs = new_group(), new_group()
    action = make_action(theirs)
    async with uow.begin(theirs) as tx:
        await tx.actions.add(action)
        await tx.commit()
    with pytest.raises(StorageError):
        async with uow.begin(mine) as tx:
            await tx.actions.reschedule(action.retried(T0 + timedelta(hours=1)))
    async with uow.begin(theirs) as tx:
        assert await tx.actions.pending(theirs) == (action,)


async def test_a_claim_of_nothing_asks_nothing(runtime_engine: AsyncEngine) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    group = new_group()
    async with uow.begin(group) as tx:
        await tx.actions.add(make_action(group))
        assert await tx.actions.claim_due(group, T0, timedelta(minutes=1), 0) == ()
        assert len(await tx.actions.pending(group)) == 1


async def test_a_save_without_a_prior_read_replaces_the_policy(
    runtime_engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    group, channel = new_group(), make_channel()
    async with uow.begin(group) as tx:
        await tx.groups.save(make_policy(group, make_channel()))
        await tx.commit()
    async with uow.begin(group) as tx:
        await tx.groups.save(make_policy(group, channel, enabled=False))
        await tx.commit()
    async with uow.begin(group) as tx:
        assert await tx.groups.get(group) == make_policy(group, channel, enabled=False)


async def test_a_stale_read_cannot_overwrite_a_newer_policy(runtime_engine: AsyncEngine) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    group, first, second = new_group(), make_channel(), make_channel()
    async with uow.begin(group) as tx:
        await tx.groups.save(make_policy(group, first))
        await tx.commit()
    async with uow.begin(group) as stale:
        old = await stale.groups.get(group)
        assert old is not None
        async with uow.begin(group) as fresh:
            current = await fresh.groups.get(group)
            assert current is not None
            await fresh.groups.save(current.disabled())
            await fresh.commit()
        with pytest.raises(StorageConflict):
            await stale.groups.save(old.linked([second]))
    async with uow.begin(group) as tx:
        assert await tx.groups.get(group) == make_policy(group, first, enabled=False)
