"""Faults: unique-key races, dropped connections and a restarting server.

Each ends in a clear application error, leaves nothing half-written, and the next call works
without rebuilding anything (a connection idle for `PING_IDLE_AFTER` is pinged before use; a
unit of work begins again when its first statement finds the connection dropped).
"""

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.postgres import engine as engine_module
from adapters.postgres.directory import PostgresTenantDirectory
from adapters.postgres.engine import create_engine
from adapters.postgres.provisioning import DatabaseSpec, provision_database
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from application.errors import StorageConflict, StorageError
from domain.ids import ChannelId, GroupId, MessageId, UserId
from tests.factories import (
    T0,
    make_action,
    make_channel,
    make_policy,
    make_restriction,
    new_channel,
    new_group,
    new_user,
)
from tests.integration.conftest import ThrowawayDatabase, start_embedded, unique_name


async def _blocked(task: asyncio.Task[None]) -> bool:
    await asyncio.sleep(0.3)
    return not task.done()


async def test_two_first_setups_of_one_group_race_and_one_gets_a_conflict(
    runtime_engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    group, channel = new_group(), make_channel()
    async with uow.begin(group) as first, uow.begin(group) as second:
        assert await first.groups.get(group) is None
        assert await second.groups.get(group) is None
        await first.groups.save(make_policy(group, channel))
        losing = asyncio.create_task(second.groups.save(make_policy(group, channel)))
        assert await _blocked(losing), "the second insert should wait for the first transaction"
        await first.commit()
        with pytest.raises(StorageConflict):
            await losing
    async with uow.begin(group) as tx:
        assert await tx.groups.get(group) == make_policy(group, channel)


async def test_two_admins_linking_one_channel_race_and_one_gets_a_conflict(
    runtime_engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    group, existing, linked = new_group(), make_channel(), make_channel()
    async with uow.begin(group) as tx:
        await tx.groups.save(make_policy(group, existing))
        await tx.commit()
    async with uow.begin(group) as first, uow.begin(group) as second:
        mine = await first.groups.get(group)
        theirs = await second.groups.get(group)
        assert mine is not None
        assert theirs is not None
        await first.groups.save(mine.linked([linked]))
        losing = asyncio.create_task(second.groups.save(theirs.linked([linked])))
        assert await _blocked(losing)
        await first.commit()
        with pytest.raises(StorageConflict):
            await losing
    async with uow.begin(group) as tx:
        stored = await tx.groups.get(group)
    assert stored == make_policy(group, existing, linked)


async def test_a_saved_policy_can_be_saved_again_in_the_same_transaction(
    runtime_engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    group, channel = new_group(), make_channel()
    async with uow.begin(group) as tx:
        assert await tx.groups.get(group) is None
        await tx.groups.save(make_policy(group, channel))
        await tx.groups.save(make_policy(group, channel, enabled=False))
        await tx.commit()
    async with uow.begin(group) as tx:
        assert await tx.groups.get(group) == make_policy(group, channel, enabled=False)


async def test_claims_by_two_workers_never_overlap(runtime_engine: AsyncEngine) -> None:
    uow = PostgresUnitOfWork(runtime_engine)
    group = new_group()
    async with uow.begin(group) as tx:
        for _ in range(4):
            await tx.actions.add(make_action(group))
        await tx.commit()
    async with uow.begin(group) as first, uow.begin(group) as second:
        mine = await first.actions.claim_due(group, T0, timedelta(minutes=1), 3)
        theirs = await second.actions.claim_due(group, T0, timedelta(minutes=1), 3)
    assert len(mine) == 3
    assert len(theirs) == 1
    assert not {a.action_id for a in mine} & {a.action_id for a in theirs}


async def _terminate(superuser_url: str, application_name: str) -> int:
    engine = create_async_engine(superuser_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            terminated = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": application_name},
            )
            return int(terminated or 0)
    finally:
        await engine.dispose()


@pytest.fixture
async def droppable(test_database: ThrowawayDatabase) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """A runtime engine whose connections carry a name a test can find and terminate."""
    name = unique_name("nezuko_drop")
    engine = create_engine(
        test_database.runtime_url, pool_size=1, max_overflow=0, application_name=name
    )
    yield engine, name
    await engine.dispose()


@pytest.mark.parametrize("failing_step", ["statement", "commit"])
async def test_a_connection_dropped_mid_transaction_is_a_storage_error(
    droppable: tuple[AsyncEngine, str], test_database: ThrowawayDatabase, failing_step: str
) -> None:
    engine, name = droppable
    uow = PostgresUnitOfWork(engine)
    group, user = new_group(), new_user()
    with pytest.raises(StorageError) as raised:
        async with uow.begin(group) as tx:
            await tx.groups.save(make_policy(group, make_channel()))
            assert await _terminate(test_database.superuser_url, name) == 1
            if failing_step == "statement":
                await tx.exemptions.add(group, user)
            await tx.commit()
    assert not isinstance(raised.value, StorageConflict)
    assert isinstance(raised.value.__cause__, Exception)
    # Nothing was kept, and the same engine works again at once.
    async with uow.begin(group) as tx:
        assert await tx.groups.get(group) is None
        assert await tx.exemptions.add(group, user)
        await tx.commit()
    async with uow.begin(group) as tx:
        assert await tx.exemptions.all(group) == frozenset({user})


async def test_an_idle_pooled_connection_dropped_by_the_server_is_replaced(
    droppable: tuple[AsyncEngine, str], test_database: ThrowawayDatabase
) -> None:
    engine, name = droppable
    uow = PostgresUnitOfWork(engine)
    group = new_group()
    async with uow.begin(group) as tx:
        await tx.exemptions.add(group, new_user())
        await tx.commit()
    assert await _terminate(test_database.superuser_url, name) == 1
    async with uow.begin(group) as tx:
        assert len(await tx.exemptions.all(group)) == 1


def _count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the pings on `engine`'s connections (one each, appended)."""
    dialect, pings = engine.sync_engine.dialect, list[int]()
    ping = dialect.do_ping

    def counted(connection: object) -> bool:
        pings.append(1)
        return ping(connection)  # pyright: ignore[reportArgumentType]

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


async def test_a_connection_in_use_is_not_pinged_before_each_transaction(
    droppable: tuple[AsyncEngine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: a ping is a transaction (BEGIN, an empty statement, ROLLBACK): before each unit
    of work it doubled what a member's first message cost the database."""
    engine, _ = droppable
    pings = _count_pings(engine, monkeypatch)
    uow, group = PostgresUnitOfWork(engine), new_group()
    for _ in range(20):
        async with uow.begin(group) as tx:
            await tx.exemptions.add(group, new_user())
            await tx.commit()
    assert len(pings) == 0
    monkeypatch.setattr(engine_module, "PING_IDLE_AFTER", -1.0)  # every connection idle long
    async with uow.begin(group) as tx:
        assert len(await tx.exemptions.all(group)) == 20
    assert len(pings) == 1


async def test_an_idle_connection_dropped_by_the_server_is_replaced_for_the_directory(
    droppable: tuple[AsyncEngine, str],
    test_database: ThrowawayDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The directory runs no unit of work: the ping at checkout replaces the dropped one."""
    engine, name = droppable
    directory = PostgresTenantDirectory(engine)
    channel = new_channel()
    assert await directory.groups_requiring(channel) == ()
    monkeypatch.setattr(engine_module, "PING_IDLE_AFTER", -1.0)
    assert await _terminate(test_database.superuser_url, name) == 1
    assert await directory.groups_requiring(channel) == ()


async def test_a_restarting_server_fails_calls_while_down_and_recovers_after() -> None:
    """A second throw-away server, so the session's server stays up for the other tests."""
    directory = Path(tempfile.mkdtemp(prefix="nezuko-test-restart-"))
    server = await asyncio.to_thread(start_embedded, directory)
    engine: AsyncEngine | None = None
    try:
        spec = DatabaseSpec.generate("restarts", "restarts_owner", "restarts_app")
        urls = await provision_database(server.superuser_url, spec)
        engine = create_engine(urls.runtime, pool_size=2, max_overflow=0)
        uow, directory_seam = PostgresUnitOfWork(engine), PostgresTenantDirectory(engine)
        group, channel = new_group(), new_channel()
        async with uow.begin(group) as tx:
            await tx.groups.save(make_policy(group, make_channel(channel)))
            await tx.commit()

        # Down in the middle of a transaction: the statement fails, nothing is kept.
        other = new_group()
        with pytest.raises(StorageError):
            async with uow.begin(other) as tx:
                await tx.groups.save(make_policy(other, make_channel()))
                await asyncio.to_thread(server.stop)
                await tx.commit()
        # Down between transactions: beginning (or asking the directory) fails clearly.
        with pytest.raises(StorageError):
            async with uow.begin(group) as tx:
                await tx.groups.get(group)
        with pytest.raises(StorageError):
            await directory_seam.groups_requiring(channel)

        await asyncio.to_thread(server.start)
        async with uow.begin(group) as tx:
            assert await tx.groups.get(group) is not None
        async with uow.begin(other) as tx:
            assert await tx.groups.get(other) is None
        assert await directory_seam.groups_requiring(channel) == (GroupId(group),)
    finally:
        if engine is not None:
            await engine.dispose()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(directory, ignore_errors=True)


async def _missing_two_channels(uow: PostgresUnitOfWork) -> tuple[GroupId, UserId, ChannelId]:
    """A new group whose new member the bot muted for two channels; the second channel's id."""
    group, user, first, second = new_group(), new_user(), new_channel(), new_channel()
    async with uow.begin(group) as tx:
        await tx.restrictions.save(make_restriction(group, user, first, second))
        await tx.commit()
    return group, user, second


async def test_two_read_modify_writes_of_one_restriction_lose_no_update(
    runtime_engine: AsyncEngine,
) -> None:
    """A warning id and a new missing list written at once by two transactions both survive."""
    uow = PostgresUnitOfWork(runtime_engine)
    group, user, second = await _missing_two_channels(uow)

    async def note_what_is_still_missing() -> None:
        async with uow.begin(group) as tx:
            current = await tx.restrictions.get_locked(group, user)
            assert current is not None
            await tx.restrictions.save(current.still_missing((second,)))
            await tx.commit()

    async with uow.begin(group) as warning:
        current = await warning.restrictions.get_locked(group, user)
        assert current is not None
        other = asyncio.create_task(note_what_is_still_missing())
        assert await _blocked(other), "the second read for update should wait for the first"
        await warning.restrictions.save(current.with_warning(MessageId(77)))
        await warning.commit()
    await other
    async with uow.begin(group) as tx:
        final = await tx.restrictions.get(group, user)
    assert final is not None
    assert (final.missing, final.warning_message_id) == ((second,), MessageId(77))


async def test_rewriting_every_restriction_of_a_group_loses_no_concurrent_update(
    runtime_engine: AsyncEngine,
) -> None:
    """`/unlink` rewrites every missing list while a warning id is stored: both survive."""
    uow = PostgresUnitOfWork(runtime_engine)
    group, user, second = await _missing_two_channels(uow)

    async def store_the_warning() -> None:
        async with uow.begin(group) as tx:
            current = await tx.restrictions.get_locked(group, user)
            assert current is not None
            await tx.restrictions.save(current.with_warning(MessageId(77)))
            await tx.commit()

    async with uow.begin(group) as unlink:
        [current] = await unlink.restrictions.all_locked(group)
        other = asyncio.create_task(store_the_warning())
        assert await _blocked(other), "the warning's read for update should wait for the rewrite"
        await unlink.restrictions.save(current.still_missing((second,)))
        await unlink.commit()
    await other
    async with uow.begin(group) as tx:
        final = await tx.restrictions.get(group, user)
    assert final is not None
    assert (final.missing, final.warning_message_id) == ((second,), MessageId(77))
