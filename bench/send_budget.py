"""The multi-worker send budget (issue 15): several workers send as one bot, within its limits.

`WORKERS` bots in one process stand for as many `nezuko run` workers: each has its own rate
limiter (our `TelegramRateLimiter`, Telegram's real limits) and its own `PostgresSendBudget`
with its own connection pool, all on one PostgreSQL database, against the sandbox with
Telegram's flood limits on. Each worker posts `PER_GROUP` messages into each of `GROUPS` groups
at once, so the bot as a whole has to hold to 30 messages a second overall and 20 a minute per
group, without knowing which worker sends what.

Figures: the sends and how long they took, the highest count in any second and into one group in
any minute, the 429s, and what the shared budget cost: bookings per send (a send
books its moment and sends then) and each booking's time (one statement, a round trip to
PostgreSQL). `make bench` holds them to `TARGETS`.

Then the priorities across workers: two workers flood `FLOOD_GROUPS` groups with warnings (two
each, so the overall budget is the limit, not the groups' pace) while the third sends `ANSWERS`
answers, one every `ANSWER_EVERY` seconds, into groups of their own; each answer's wait (from
the call to Telegram's reply) is printed, next to the same run with the flood sent as answers
(one priority: first come, first served across workers, as before migration 0015). Reported,
not held to a target.
"""

import asyncio
import statistics
import time

import attrs
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import ExtBot

from adapters.postgres.embedded import provide_database
from adapters.postgres.engine import create_engine
from adapters.postgres.send_budget import PostgresSendBudget
from adapters.telegram.rate_limiter import CallOptions, RateLimitArgs, TelegramRateLimiter
from application.ports.send_budget import Booking, BucketRate, Priority, SendRates
from bootstrap.settings import Settings
from telegram_sandbox import AdminRights, FloodLimits, Member, Sandbox, Status

WORKERS = 3
GROUPS = 40
PER_GROUP = 3
"""Messages each worker posts into each group (the group gets `WORKERS * PER_GROUP`)."""
FIRST_GROUP = -1002000000000
ALONE = 500
"""Bookings made one at a time on an idle database, for the cost of one round trip."""
FLOOD_GROUPS = 120
"""Groups two workers flood with warnings (two each: 240 sends, 10 s of the overall budget)."""
ANSWERS = 10
ANSWER_EVERY = 0.5
"""Seconds between two of the third worker's answers, the first after one such pause."""


@attrs.frozen
class Targets:
    """What the workers together must hold to (Telegram's limits)."""

    floods: int = 0
    per_second: int = 30
    per_group_minute: int = 20
    alone_p50_ms: float = 10.0
    """Median time of one booking on an idle database: what the budget adds to a send (under
    load, the wait for a pooled connection and for the overall row's lock come on top: printed,
    not held to a target, since they measure the machine as much as the budget)."""


TARGETS = Targets()


@attrs.frozen
class BudgetResult:
    """What one run came to."""

    sends: int
    seconds: float
    most_in_a_second: int
    most_into_a_group_in_a_minute: int
    floods: int
    claims: int
    claim_ms: list[float]
    alone_ms: list[float]
    """One booking at a time on an idle database (no other booking, no pool wait)."""
    flooded: "FloodResult | None" = None
    """The answers under a flood of warnings, and under the same flood sent as answers."""

    def misses(self, targets: Targets = TARGETS) -> list[str]:
        """The targets this result missed (none: all met)."""
        missed: list[str] = []
        if self.floods > targets.floods:
            missed.append(f"{self.floods} 429s")
        if self.most_in_a_second > targets.per_second:
            missed.append(f"{self.most_in_a_second} messages in one second")
        if self.most_into_a_group_in_a_minute > targets.per_group_minute:
            missed.append(f"{self.most_into_a_group_in_a_minute} messages into a group a minute")
        if _percentile(self.alone_ms, 0.5) > targets.alone_p50_ms:
            missed.append(f"a booking's median of {_percentile(self.alone_ms, 0.5):.1f} ms")
        return missed


@attrs.frozen
class FloodRun:
    """One flood: how long each of the third worker's answers waited, and the flood's 429s."""

    answer_ms: list[float]
    seconds: float
    sends: int
    floods: int
    bookings: int


@attrs.frozen
class FloodResult:
    """The answers' waits with the flood sent as warnings, and with it sent as answers."""

    warned: FloodRun
    unranked: FloodRun


class _TimedBudget(PostgresSendBudget):
    """The budget, timing each booking."""

    def __init__(self, engine: AsyncEngine, rates: SendRates, times: list[float]) -> None:
        super().__init__(engine, rates)
        self.times = times
        """Where each booking's time (ms) goes (the caller may swap it between runs)."""

    async def book(self, chat: str, *, group: bool, priority: Priority) -> Booking:
        started = time.perf_counter()
        try:
            return await super().book(chat, group=group, priority=priority)
        finally:
            self.times.append((time.perf_counter() - started) * 1000)


async def send_budget(base: Settings) -> BudgetResult:
    """Run the workload against a fresh sandbox, on the database `base` configures."""
    async with (
        provide_database(base.data_dir, base.database_url, base.database_admin_url) as urls,
        Sandbox.start(limits=FloodLimits()) as sandbox,
    ):
        seeded = sandbox.seeded
        assert seeded is not None
        groups = [FIRST_GROUP - n for n in range(GROUPS)]
        for group in groups:
            sandbox.driver.supergroup(group, f"Group {group}", owner_id=seeded.owner_id)
            sandbox.driver.place(
                group, Member(seeded.bot_id, Status.ADMINISTRATOR, rights=AdminRights.moderator())
            )
        times: list[float] = []
        engines = [
            create_engine(urls.runtime, pool_size=2, max_overflow=1, pre_ping=False)
            for _ in range(WORKERS)
        ]
        bots: list[ExtBot[RateLimitArgs]] = []
        budgets: list[_TimedBudget] = []
        try:
            for engine in engines:
                limiter = TelegramRateLimiter()
                limiter.shared = _TimedBudget(engine, limiter.limits.rates(), times)
                budgets.append(limiter.shared)
                bot = ExtBot(sandbox.token, base_url=sandbox.base_url, rate_limiter=limiter)
                await bot.initialize()
                bots.append(bot)
            mark = sandbox.calls.mark()
            started = time.monotonic()
            await asyncio.gather(
                *(
                    bot.send_message(group, f"worker {worker} message {n}")
                    for worker, bot in enumerate(bots)
                    for n in range(PER_GROUP)
                    for group in groups
                )
            )
            seconds = time.monotonic() - started
            sends = sandbox.calls.of("sendMessage", since=mark)
            await asyncio.sleep(1.0)  # the overall bucket full again
            flooded = FloodResult(
                warned=await _flood(sandbox, bots, budgets, Priority.WARNING, FIRST_GROUP - 1000),
                unranked=await _flood(sandbox, bots, budgets, Priority.ANSWER, FIRST_GROUP - 2000),
            )
        finally:
            for bot in bots:
                await bot.shutdown()
            for engine in engines:
                await engine.dispose()
        alone: list[float] = []
        engine = create_engine(urls.runtime, pool_size=1, max_overflow=0, pre_ping=False)
        try:
            wide = BucketRate(10_000, 10_000.0)
            idle = _TimedBudget(engine, SendRates(wide, wide, wide), alone)
            for n in range(ALONE):
                await idle.book(f"-1003{n:09d}", group=True, priority=Priority.ANSWER)
        finally:
            await engine.dispose()
        ok = sorted(c.at for c in sends if c.ok)
        by_group: dict[int, list[float]] = {}
        for call in sends:
            if call.ok:
                by_group.setdefault(int(call.param("chat_id")), []).append(call.at)
        return BudgetResult(
            sends=len(ok),
            seconds=seconds,
            most_in_a_second=_most_within(ok, 1.0),
            most_into_a_group_in_a_minute=max(
                _most_within(sorted(s), 60.0) for s in by_group.values()
            ),
            floods=sum(1 for c in sends if c.status == 429),
            claims=len(times),
            claim_ms=times,
            alone_ms=alone,
            flooded=flooded,
        )


async def _flood(
    sandbox: Sandbox,
    bots: list[ExtBot[RateLimitArgs]],
    budgets: list[_TimedBudget],
    flood: Priority,
    first: int,
) -> FloodRun:
    """Two workers flood groups with sends of `flood` priority while the third answers.

    The two send two messages each into each of `FLOOD_GROUPS` groups; the third, meanwhile,
    an answer every `ANSWER_EVERY` seconds into groups of its own.
    """
    seeded = sandbox.seeded
    assert seeded is not None
    flooded = [first - n for n in range(FLOOD_GROUPS)]
    answered = [first - FLOOD_GROUPS - n for n in range(ANSWERS)]
    for group in flooded + answered:
        sandbox.driver.supergroup(group, f"Group {group}", owner_id=seeded.owner_id)
        sandbox.driver.place(
            group, Member(seeded.bot_id, Status.ADMINISTRATOR, rights=AdminRights.moderator())
        )
    options = CallOptions(priority=flood)
    mark = sandbox.calls.mark()
    started = time.monotonic()
    waits: list[float] = []
    times: list[float] = []
    for budget in budgets:
        budget.times = times

    async def answer(group: int, after: float) -> None:
        await asyncio.sleep(after)
        asked = time.perf_counter()
        await bots[2].send_message(group, "the answer")
        waits.append((time.perf_counter() - asked) * 1000)

    async with asyncio.TaskGroup() as tasks:
        for bot in bots[:2]:
            for group in flooded:
                tasks.create_task(bot.send_message(group, "warning", rate_limit_args=options))
        for n, group in enumerate(answered, start=1):
            tasks.create_task(answer(group, n * ANSWER_EVERY))
    sends = sandbox.calls.of("sendMessage", since=mark)
    return FloodRun(
        answer_ms=waits,
        seconds=time.monotonic() - started,
        sends=sum(1 for c in sends if c.ok),
        floods=sum(1 for c in sends if c.status == 429),
        bookings=len(times),
    )


def _most_within(stamps: list[float], window: float) -> int:
    """The most stamps (sorted) in any window of `window` seconds."""
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(result: BudgetResult) -> str:
    """The figures, one line each."""
    return "\n".join(
        (
            f"multi-worker send budget: {WORKERS} workers (own limiter, own pool) on one "
            f"database, {PER_GROUP} messages each into each of {GROUPS} groups, flood limits on",
            f"  sent:                              {result.sends} in {result.seconds:.1f} s "
            f"({result.sends / result.seconds:.1f}/s)",
            f"  most in any second:                {result.most_in_a_second} "
            f"(target {TARGETS.per_second})",
            f"  most into one group in any minute: {result.most_into_a_group_in_a_minute} "
            f"(target {TARGETS.per_group_minute})",
            f"  429s received:                     {result.floods} (target 0)",
            f"  bookings per send:                 {result.claims / max(result.sends, 1):.2f} "
            "(one, plus one each time the chat's own pace says: ask again then)",
            "  one booking (a statement on PostgreSQL): "
            f"p50 {_percentile(result.claim_ms, 0.5):.2f} ms, "
            f"p99 {_percentile(result.claim_ms, 0.99):.2f} ms, "
            f"mean {statistics.fmean(result.claim_ms or [0.0]):.2f} ms "
            f"(under load: {WORKERS * GROUPS} sends at once, 3 connections a worker)",
            f"  one booking alone ({ALONE} in a row, one connection): "
            f"p50 {_percentile(result.alone_ms, 0.5):.2f} ms, "
            f"p99 {_percentile(result.alone_ms, 0.99):.2f} ms "
            f"(target p50 {TARGETS.alone_p50_ms:.0f} ms)",
            *_flood_lines(result.flooded),
        )
    )


def _flood_lines(flooded: FloodResult | None) -> list[str]:
    if flooded is None:
        return []
    lines = [
        f"  answers under a flood (2 workers send 2 messages into each of {FLOOD_GROUPS} groups; "
        f"the 3rd, {ANSWERS} answers {ANSWER_EVERY} s apart):"
    ]
    for name, run in (
        ("flood of warnings", flooded.warned),
        ("same flood as answers (first come, first served)", flooded.unranked),
    ):
        lines.append(
            f"    {name + ':':50} answer waits p50 {_percentile(run.answer_ms, 0.5):.0f} ms, "
            f"max {max(run.answer_ms or [0.0]):.0f} ms; {run.sends} sent in {run.seconds:.1f} s, "
            f"{run.floods} 429s, {run.bookings / max(run.sends, 1):.2f} bookings per send"
        )
    return lines
