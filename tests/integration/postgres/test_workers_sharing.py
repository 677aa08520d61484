"""Issue 15 over PostgreSQL: what several workers share, one piece at a time.

- the burst guard (`mute_claims`): of two workers claiming one member at once exactly one wins,
  and a claim made by a session that has ended (a killed worker) holds nobody;
- cache invalidation (LISTEN/NOTIFY): what one worker publishes, another applies within a
  second, not its own; a cut listening connection empties the caches and comes back;
- the intake journal: a live worker's updates are its own, a dead worker's are taken over once.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres import send_budget
from adapters.postgres.engine import create_engine
from adapters.postgres.journal import PostgresJournal
from adapters.postgres.notifications import PostgresInvalidations
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from application.ports.invalidations import Cached, Invalidation
from application.ports.send_budget import BucketRate, Priority, SendRates
from domain.ids import ChannelId, GroupId, UserId
from tests.factories import new_group, new_user
from tests.integration.conftest import ThrowawayDatabase

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SETTLE = timedelta(seconds=10)
BOT = 7_000_000_015


async def test_two_workers_claiming_one_member_at_once_one_wins(
    test_database: ThrowawayDatabase,
) -> None:
    engines = [create_engine(test_database.runtime_url, pool_size=1) for _ in range(2)]
    group, user = new_group(), new_user()
    started = asyncio.Event()

    async def claim(engine_index: int) -> bool:
        uow = PostgresUnitOfWork(engines[engine_index])
        async with uow.begin(group) as tx:
            won = await tx.restrictions.claim_mute(group, user, NOW, SETTLE)
            started.set()
            await asyncio.sleep(0.3)  # the other claim waits for this transaction meanwhile
            await tx.commit()
        return won

    try:
        first = asyncio.create_task(claim(0))
        await started.wait()
        second = await claim(1)
        assert (await first, second) == (True, False)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_claim_clears_the_groups_claims_whose_settle_time_is_over(
    test_database: ThrowawayDatabase,
) -> None:
    engine = create_engine(test_database.runtime_url, pool_size=1)
    owner = create_engine(test_database.superuser_url, pool_size=1)  # sees every tenant
    group, other_group = new_group(), new_group()
    early = [new_user() for _ in range(5)]
    try:
        for user in early:
            async with PostgresUnitOfWork(engine).begin(group) as tx:
                assert await tx.restrictions.claim_mute(group, user, NOW, SETTLE)
                await tx.commit()
        async with PostgresUnitOfWork(engine).begin(other_group) as tx:
            assert await tx.restrictions.claim_mute(other_group, new_user(), NOW, SETTLE)
            await tx.commit()
        async with PostgresUnitOfWork(engine).begin(group) as tx:  # within the settle time
            assert await tx.restrictions.claim_mute(group, new_user(), NOW + SETTLE / 2, SETTLE)
            await tx.commit()
        assert await _claims(owner, group, other_group) == [6, 1]
        async with PostgresUnitOfWork(engine).begin(group) as tx:  # the first five are spent
            assert await tx.restrictions.claim_mute(group, new_user(), NOW + SETTLE, SETTLE)
            await tx.commit()
        assert await _claims(owner, group, other_group) == [2, 1]  # the other group's stay
    finally:
        await engine.dispose()
        await owner.dispose()


async def _claims(owner: AsyncEngine, *groups: GroupId) -> list[int]:
    """How many claims each group has (as the owner: every tenant's rows)."""
    counts: list[int] = []
    async with owner.connect() as connection:
        for group in groups:
            count = await connection.scalar(
                text("SELECT count(*) FROM mute_claims WHERE tenant_id = :group"),
                {"group": group},
            )
            counts.append(int(count or 0))
    return counts


async def test_a_claim_of_a_session_that_ended_holds_nobody(
    test_database: ThrowawayDatabase,
) -> None:
    group, user = new_group(), new_user()
    dead = create_engine(test_database.runtime_url, pool_size=1)
    async with PostgresUnitOfWork(dead).begin(group) as tx:
        assert await tx.restrictions.claim_mute(group, user, NOW, SETTLE)
        await tx.commit()
    await dead.dispose()  # its session ends, as a killed worker's does
    alive = create_engine(test_database.runtime_url, pool_size=1)
    try:
        for _ in range(50):  # the server notices the closed connection at once, or nearly
            async with PostgresUnitOfWork(alive).begin(group) as tx:
                if await tx.restrictions.claim_mute(
                    group, user, NOW + timedelta(seconds=1), SETTLE
                ):
                    await tx.commit()
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the dead session's claim still held")
        async with PostgresUnitOfWork(alive).begin(group) as tx:  # the live one's holds
            assert not await tx.restrictions.claim_mute(group, user, NOW, SETTLE)
    finally:
        await alive.dispose()


async def test_what_one_worker_publishes_another_applies_and_a_cut_empties_the_caches(
    test_database: ThrowawayDatabase,
) -> None:
    engines = [create_engine(test_database.runtime_url, pool_size=1) for _ in range(2)]
    workers = [PostgresInvalidations(engine, check_every=0.2) for engine in engines]
    applied: list[list[Invalidation]] = [[], []]
    emptied = [0, 0]

    def hearing(n: int) -> asyncio.Task[None]:
        async def apply(invalidation: Invalidation) -> None:
            applied[n].append(invalidation)

        async def forget_everything() -> None:
            emptied[n] += 1

        return asyncio.create_task(workers[n].listen_forever(apply, forget_everything))

    tasks = [hearing(0), hearing(1)]
    try:
        for worker in workers:
            await asyncio.wait_for(worker.listening.wait(), 5)
        assert emptied == [1, 1]  # on connecting: whatever came before was missed
        change = Invalidation(Cached.MEMBERSHIP, channel_id=ChannelId(-1002), user_id=UserId(7))
        await workers[0].publish(change)
        await workers[0].publish(Invalidation(Cached.GROUP, group_id=GroupId(-1001)))
        await _eventually(lambda: len(applied[1]) >= 2, within=1.0)
        assert applied[1] == [change, Invalidation(Cached.GROUP, group_id=GroupId(-1001))]
        assert applied[0] == []  # its own are not applied again

        pid = workers[1].session_pid
        assert pid is not None
        admin = create_engine(test_database.superuser_url, pool_size=1)
        try:
            async with admin.connect() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await admin.dispose()
        await _eventually(
            lambda: workers[1].session_pid not in (None, pid) and emptied[1] >= 2, within=5.0
        )
        await workers[0].publish(change)  # heard again on the new connection
        await _eventually(lambda: len(applied[1]) >= 3, within=1.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for engine in engines:
            await engine.dispose()


async def test_a_dead_workers_updates_are_taken_over_once_a_live_ones_never(
    test_database: ThrowawayDatabase,
) -> None:
    engine = create_engine(test_database.runtime_url, pool_size=2)
    holder = create_engine(test_database.runtime_url, pool_size=1)
    try:
        async with holder.connect() as connection:  # a live worker's session
            live = int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0)
            dead = 2_000_000_000  # no session has that pid
            alive, gone = (
                PostgresJournal(engine, BOT, lambda: live),
                PostgresJournal(engine, BOT, lambda: dead),
            )
            await alive.keep([{"update_id": 1, "message": {}}])
            await gone.keep([{"update_id": 2, "message": {}}, {"update_id": 3, "message": {}}])
            taker = PostgresJournal(engine, BOT, lambda: live)
            assert [u["update_id"] for u in await taker.leftovers()] == [2, 3]
            assert await taker.leftovers() == []  # taken: the taker's own now
    finally:
        await holder.dispose()
        await engine.dispose()


async def _eventually(condition: Callable[[], bool], *, within: float) -> None:
    """Wait until `condition()` holds (the other worker's doing: polled), at most `within` s."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition()


async def test_the_send_budget_forgets_chats_idle_for_an_hour(
    runtime_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    idle, busy = str(new_group()), str(new_group())  # chats no other test books into
    async with runtime_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO send_budget (chat, chat_at, group_at, used_at) VALUES "
                "(:idle, 0, 0, extract(epoch FROM clock_timestamp()) - :idle_for), "
                "(:busy, 0, 0, extract(epoch FROM clock_timestamp()))"
            ),
            {"idle": idle, "busy": busy, "idle_for": send_budget.IDLE_AFTER + 60},
        )
    monkeypatch.setattr(send_budget, "PRUNE_EVERY", 0.0)  # the sweep runs with this booking
    rates = SendRates(BucketRate(30, 30.0), BucketRate(20, 1 / 3), BucketRate(3, 1.0))

    budget = send_budget.PostgresSendBudget(runtime_engine, rates)
    booking = await budget.book(busy, group=True, priority=Priority.ANSWER)

    assert booking.booked
    async with runtime_engine.connect() as connection:
        kept = await connection.scalars(
            text("SELECT chat FROM send_budget WHERE chat IN (:idle, :busy)"),
            {"idle": idle, "busy": busy},
        )
        assert set(kept) == {busy}
