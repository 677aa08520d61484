"""`make bench`: the hot path (DESIGN §5) against the Bot API sandbox, as a ratio to bare PTB.

The hot path is a message from a member already known to have joined every required channel.
The bench sends the same burst of such messages through two bots polling the same kind of
sandbox: a do-nothing python-telegram-bot application (the floor: HTTP, JSON, PTB's dispatch)
and the whole Nezuko bot (our handlers, caches, rate limiter, PostgreSQL). It prints both
throughputs, their ratio, and what the burst cost Nezuko beyond getUpdates: Bot API calls and
database connection checkouts (each unit of work checks one out). DESIGN §5 says both must be
zero in steady state; the exit code is 1 if they are not.

Usage: `make bench` (or `.venv/bin/python -m bench [--messages N] [--members M] [--groups G]
[--hot-path-only]`).
The burst's time includes the sandbox's own work (it serves both bots alike), so the ratio is
a floor-relative figure for this machine, not an absolute cost.
"""

import argparse
import asyncio
import contextlib
import logging
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, TextIO

import attrs
from sqlalchemy import event
from sqlalchemy.pool import Pool
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from adapters.metrics import updates_handled
from adapters.telegram.updates import ALLOWED_UPDATES
from bench import burst, join_gate, memory, raid, reads, send_budget
from bench.results import Result, RoundTrips, RssSampler, Stamps, table, watching
from bootstrap.bot import (
    CONCURRENT_UPDATES,
    DUE_ACTIONS_TASK,
    INTAKE_TASKS,
    LOG_TASK,
    SENDER_TASK,
    running_bot,
)
from bootstrap.observability import configure_logging
from bootstrap.settings import Settings
from telegram_sandbox import AdminRights, Member, Sandbox, SeededWorld, Status

FIRST_MEMBER_ID = 50_000
FIRST_GROUP = -1003000000000
GROUPS = 20
"""The hot path's groups (issue 15: 20,000 messages from 200 members in 20 groups)."""
SETTLE = 0.3
MESSAGES_PER_INTAKE_STATEMENT = 40
"""The intake journal's budget: one statement per getUpdates batch (up to 100 updates) and one
per marking round (every 0.2 s) come to about one per 80 messages in the burst."""
INTAKE_ALLOWANCE = 5
"""Statements allowed beyond the budget, whatever the burst: a burst of a few messages still
takes a batch or two and a marking round."""
WAIT = 120.0
PACED = 1000
"""Messages sent at `PACE` a second after the burst: handling latency below capacity."""
PACE = 500.0


@attrs.frozen
class Run:
    """One bot's burst: how long it took and what it cost beyond getUpdates.

    `warm_up_*`: the same costs while every member spoke once first (the caches filling).
    """

    seconds: float
    calls: tuple[str, ...]
    """The Bot API methods called (beyond getUpdates), in order."""
    db_checkouts: int
    """Checkouts by the handling of the updates (the hot path: none)."""
    intake_checkouts: int = 0
    """Checkouts by the intake journal: one per getUpdates batch, one per marking round."""
    warm_up_bot_api_calls: int = 0
    warm_up_db_checkouts: int = 0
    stamps: Stamps = attrs.field(factory=Stamps)
    """The burst's updates: made available, handled."""
    paced: Stamps = attrs.field(factory=Stamps)
    """The paced messages' (`PACED` at `PACE` a second, after the burst)."""
    paced_seconds: float = 0.0
    round_trips: int = 0
    """Database round trips in the burst (handling and intake; `bench.results`)."""
    paced_round_trips: int = 0
    paced_calls: int = 0
    peak_rss: float = 0.0
    final_rss: float = 0.0

    @property
    def bot_api_calls(self) -> int:
        """How many Bot API calls (beyond getUpdates) the burst cost."""
        return len(self.calls)

    def per_second(self, messages: int) -> float:
        """Messages handled per second."""
        return messages / self.seconds


def _members(sandbox: Sandbox, count: int, groups: int) -> list[tuple[int, int]]:
    """`count` people spread over `groups` groups (the bot in each), all in both channels.

    The seeded group and `groups - 1` more, each owned by the seeded owner; returns each
    person's (group, user).
    """
    ids = _seeded(sandbox)
    chats = [ids.group_id]
    for n in range(1, min(groups, count)):
        chats.append(FIRST_GROUP - n)
        sandbox.driver.supergroup(chats[-1], f"Group {n}", owner_id=ids.owner_id)
        sandbox.driver.add_bot(chats[-1], by=ids.owner_id, rights=AdminRights.moderator())
    people: list[tuple[int, int]] = []
    for n in range(count):
        user_id, group = FIRST_MEMBER_ID + n, chats[n % len(chats)]
        sandbox.driver.user(user_id, f"Member {n}")
        for chat in (group, ids.news_channel_id, ids.private_channel_id):
            sandbox.driver.place(chat, Member(user_id, Status.MEMBER))
        people.append((group, user_id))
    return people


def _seeded(sandbox: Sandbox) -> SeededWorld:
    seeded = sandbox.seeded
    assert seeded is not None  # Sandbox.start() seeds by default
    return seeded


async def _burst(
    sandbox: Sandbox,
    people: list[tuple[int, int]],
    messages: int,
    handled: Callable[[], float],
    pace: float | None = None,
) -> float:
    """Say `messages` messages round-robin and wait until the bot has handled them all.

    All at once, or `pace` a second; the seconds from the first message to the last handled.
    """
    target = handled() + messages
    started = time.perf_counter()
    for n in range(messages):
        group, user = people[n % len(people)]
        sandbox.driver.say(group, user, f"message {n}")
        if pace is not None:
            await asyncio.sleep(max(0.0, started + (n + 1) / pace - time.perf_counter()))
    await sandbox.wait_until(lambda: handled() >= target, timeout=WAIT)
    return time.perf_counter() - started


async def _settled(sandbox: Sandbox, handled: Callable[[], float]) -> None:
    """Wait until the bot took every update and its count of handled messages stood still."""
    await sandbox.wait_until(lambda: not sandbox.world.updates, timeout=WAIT)
    last = handled()
    while True:
        await asyncio.sleep(SETTLE)
        if handled() == last:
            return
        last = handled()


def _calls_since(sandbox: Sandbox, mark: int) -> tuple[str, ...]:
    return tuple(c.method for c in sandbox.calls.all(since=mark) if c.method != "getUpdates")


@contextlib.contextmanager
def _counting_checkouts() -> Generator[list[int]]:
    """Count database connection checkouts of every pool while the block runs: [handling, intake].

    Checkouts by the scheduled-action loop and the warning sender (each polls once a second
    whatever the traffic) and the log-channel loop (every 5 s) are not the updates' cost and
    are not counted; those of the intake
    journal (per batch of updates, not per update) are counted apart.
    """
    count = [0, 0]

    def checkout(*_: object) -> None:
        task = asyncio.current_task()
        name = task.get_name() if task is not None else ""
        if name in INTAKE_TASKS:
            count[1] += 1
        elif not name.startswith((DUE_ACTIONS_TASK, SENDER_TASK, LOG_TASK)):
            count[0] += 1

    event.listen(Pool, "checkout", checkout)
    try:
        yield count
    finally:
        event.remove(Pool, "checkout", checkout)


async def bare_ptb(messages: int, members: int, groups: int = GROUPS, paced: int = PACED) -> Run:
    """A PTB application whose only handler counts the groups' text messages."""
    handled = [0]
    stamps = [Stamps()]

    async def count(update: Update, __: ContextTypes.DEFAULT_TYPE) -> None:
        handled[0] += 1
        stamps[0].handled(update.update_id)

    async with RssSampler().sampling() as rss, Sandbox.start() as sandbox:
        people = _members(sandbox, members, groups)
        application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(sandbox.token)
            .base_url(f"{sandbox.root_url.rstrip('/')}/bot")
            .concurrent_updates(CONCURRENT_UPDATES)
            .build()
        )
        application.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, count))
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
            await sandbox.wait_for_poller()
            await _settled(sandbox, lambda: handled[0])
            await _burst(sandbox, people, members, lambda: handled[0])  # warm-up
            mark = sandbox.calls.mark()
            with watching(sandbox, stamps[0]) as burst_stamps:
                seconds = await _burst(sandbox, people, messages, lambda: handled[0])
            calls = _calls_since(sandbox, mark)
            mark = sandbox.calls.mark()
            stamps[0] = Stamps()
            with watching(sandbox, stamps[0]) as paced_stamps:
                paced_seconds = await _burst(sandbox, people, paced, lambda: handled[0], PACE)
            paced_calls = len(_calls_since(sandbox, mark))
            await application.updater.stop()
            await application.stop()
    return Run(
        seconds,
        calls,
        0,
        stamps=burst_stamps,
        paced=paced_stamps,
        paced_seconds=paced_seconds,
        paced_calls=paced_calls,
        peak_rss=rss.peak,
        final_rss=rss.final,
    )


def _handled_messages() -> float:
    return updates_handled("message")


async def nezuko(
    messages: int, members: int, database: Settings, groups: int = GROUPS, paced: int = PACED
) -> Run:
    """The whole bot, every group protected by both channels, every member known to have joined.

    `database` chooses the database as for `nezuko run` (`database_url`, else the embedded
    server under `data_dir`); the bot's own settings point at the sandbox.
    """
    async with RssSampler().sampling() as rss, Sandbox.start() as sandbox:
        settings = attrs.evolve(
            database, bot_token=sandbox.token, api_url=sandbox.root_url.rstrip("/")
        )
        async with running_bot(settings):
            await sandbox.wait_for_poller()
            run = await _protected_burst(sandbox, messages, members, groups, paced)
    return attrs.evolve(run, peak_rss=rss.peak, final_rss=rss.final)


async def _protected_burst(
    sandbox: Sandbox, messages: int, members: int, groups: int, paced: int
) -> Run:
    """Protect the groups, let every member speak once, then measure the burst."""
    ids = _seeded(sandbox)
    people = _members(sandbox, members, groups)
    mark = sandbox.calls.mark()
    for group in sorted({group for group, _ in people}):
        sandbox.driver.say(
            group, ids.owner_id, f"/protect @nezuko_demo_news {ids.private_channel_id}"
        )

    def protected() -> int:
        replies = sandbox.calls.of("sendMessage", since=mark)
        return sum(1 for reply in replies if "Protection is on" in str(reply.param("text")))

    await sandbox.wait_until(lambda: protected() >= min(groups, members), timeout=WAIT)
    # The replies leave before the commands' handling is counted; the warm-up's count must not
    # take a late count for one of its own messages.
    await _settled(sandbox, _handled_messages)
    mark = sandbox.calls.mark()
    with _counting_checkouts() as warm_up:  # every member speaks once: the caches fill
        await _burst(sandbox, people, members, _handled_messages)
    warm_up_calls = len(_calls_since(sandbox, mark))
    mark = sandbox.calls.mark()
    with (
        _counting_checkouts() as checkouts,
        RoundTrips(skip_background=True).counting() as trips,
        watching(sandbox) as stamps,
    ):
        seconds = await _burst(sandbox, people, messages, _handled_messages)
    calls = _calls_since(sandbox, mark)
    mark = sandbox.calls.mark()
    with RoundTrips(skip_background=True).counting() as paced_trips, watching(sandbox) as timed:
        paced_seconds = await _burst(sandbox, people, paced, _handled_messages, PACE)
    return Run(
        seconds,
        calls,
        checkouts[0],
        checkouts[1],
        warm_up_calls,
        warm_up[0],
        stamps=stamps,
        paced=timed,
        paced_seconds=paced_seconds,
        round_trips=trips.count,
        paced_round_trips=paced_trips.count,
        paced_calls=len(_calls_since(sandbox, mark)),
    )


RATIO_TARGET = 0.9
"""Issue 15, point 3: throughput at least this fraction of bare PTB's (the bench fails below)."""


def hot_path_results(
    baseline: Run, ours: Run, messages: int, ratio_target: float = RATIO_TARGET
) -> list[Result]:
    """The hot path's rows: the burst (throughput, ratio) and the paced messages (latency)."""
    ratio = baseline.seconds / ours.seconds
    missed: list[str] = []
    if ours.bot_api_calls or ours.db_checkouts:
        missed.append(
            f"the hot path cost {ours.bot_api_calls} Telegram calls and {ours.db_checkouts} "
            "checkouts (target 0)"
        )
    if ours.intake_checkouts > messages / MESSAGES_PER_INTAKE_STATEMENT + INTAKE_ALLOWANCE:
        missed.append(f"the intake journal wrote {ours.intake_checkouts} times (over budget)")
    if ratio < ratio_target:
        missed.append(f"throughput {ratio:.2f} of bare PTB (target {ratio_target})")
    rows: list[Result] = []
    for name, run, trips, r in (
        ("hot path burst: bare PTB", baseline, 0, None),
        ("hot path burst: Nezuko", ours, ours.round_trips, ratio),
    ):
        p50, p99 = run.stamps.quantiles()
        rows.append(
            Result(
                workload=name,
                updates=messages,
                seconds=run.seconds,
                p50=p50,
                p99=p99,
                bot_api_calls=run.bot_api_calls,
                db_round_trips=trips,
                floods=0,
                peak_rss_mib=run.peak_rss,
                final_rss_mib=run.final_rss,
                ratio=r,
                missed=tuple(missed) if run is ours else (),
            )
        )
    for name, run, trips in (
        (f"hot path {PACE:.0f}/s: bare PTB", baseline, 0),
        (f"hot path {PACE:.0f}/s: Nezuko", ours, ours.paced_round_trips),
    ):
        p50, p99 = run.paced.quantiles()
        rows.append(
            Result(
                workload=name,
                updates=run.paced.count,
                seconds=run.paced.span(),
                p50=p50,
                p99=p99,
                bot_api_calls=run.paced_calls,
                db_round_trips=trips,
                floods=0,
                peak_rss_mib=run.peak_rss,
                final_rss_mib=run.final_rss,
            )
        )
    return rows


async def main(
    messages: int,
    members: int,
    database: Settings,
    out: TextIO = sys.stdout,
    reads_budget: float = reads.BUDGET,
    *,
    with_raid: bool = True,
    paced: int = PACED,
    groups: int = GROUPS,
    ratio_target: float = RATIO_TARGET,
) -> int:
    """Run both bots and the other workloads, print the figures and the summary table to `out`.

    Returns 1 if a target was missed.
    """
    baseline = await bare_ptb(messages, members, groups, paced)
    ours = await nezuko(messages, members, database, groups, paced)
    base_rate, our_rate = baseline.per_second(messages), ours.per_second(messages)
    print(
        f"hot path: {messages} messages from {members} members in {min(groups, members)} "
        "groups, every member in every channel",
        file=out,
    )
    print(
        f"  bare PTB (do-nothing handler)   {baseline.seconds:7.3f} s  {base_rate:8.0f} msg/s",
        file=out,
    )
    print(
        f"  Nezuko (whole bot, PostgreSQL)  {ours.seconds:7.3f} s  {our_rate:8.0f} msg/s", file=out
    )
    print(
        f"  throughput Nezuko / bare PTB    {baseline.seconds / ours.seconds:7.2f}"
        f"   (target at least {ratio_target})",
        file=out,
    )
    print(
        f"  Nezuko's warm-up ({members} first messages, caches filling): "
        f"{ours.warm_up_bot_api_calls} Bot API calls, {ours.warm_up_db_checkouts} checkouts",
        file=out,
    )
    print(
        f"  Nezuko's Bot API calls beyond getUpdates in the burst: {ours.bot_api_calls}"
        + (f" ({', '.join(ours.calls)})" if ours.calls else ""),
        file=out,
    )
    print(
        f"  Nezuko's database connection checkouts in the burst:   {ours.db_checkouts}", file=out
    )
    print(
        f"  the intake journal's statements in the burst:          {ours.intake_checkouts} "
        f"(1 per {messages / max(ours.intake_checkouts, 1):.0f} messages; "
        f"budget 1 per {MESSAGES_PER_INTAKE_STATEMENT}, plus {INTAKE_ALLOWANCE})",
        file=out,
    )
    results = hot_path_results(baseline, ours, messages, ratio_target)
    failures: list[str] = []
    ours_reads, stock_reads = await reads.compare(reads_budget)
    print(f"reads: {reads.CALLS} getChatMember calls on one channel", file=out)
    print(
        f"  our rate limiter          {ours_reads.done:4d} done in {ours_reads.seconds:6.3f} s",
        file=out,
    )
    print(
        f"  PTB's AIORateLimiter      {stock_reads.done:4d} done in {stock_reads.seconds:6.3f} s",
        file=out,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of the bench process (both bots, sandbox): {peak:.0f} MiB", file=out)
    if with_raid:
        await _workloads(database, out, results, failures)
    if ours_reads.done < reads.CALLS:
        failures.append("reads were held back by our rate limiter")
    if ours.bot_api_calls or ours.db_checkouts:
        failures.append("the hot path must cost no Telegram call and no database round trip")
    if ours.intake_checkouts > messages / MESSAGES_PER_INTAKE_STATEMENT + INTAKE_ALLOWANCE:
        failures.append("the intake journal wrote more often than its budget")
    if (ratio := baseline.seconds / ours.seconds) < ratio_target:
        failures.append(
            f"the hot path's throughput was {ratio:.2f} of bare PTB's (target {ratio_target})"
        )
    print(
        "summary (per 1,000 updates: Bot API calls beyond getUpdates, database round trips;",
        file=out,
    )
    print(
        " RSS of the bench process; see bench/results.py for what each column observes):", file=out
    )
    print(table(results), file=out)
    for failure in failures:
        print(f"bench: FAIL — {failure}", file=out)
    if failures:
        return 1
    print(
        "bench: ok — the hot path cost no Telegram call and no database round trip "
        "(the intake journal's batch statements within budget)"
        + ("; every workload met its targets" if with_raid else ""),
        file=out,
    )
    return 0


async def _workloads(
    database: Settings, out: TextIO, results: list[Result], failures: list[str]
) -> None:
    """The raid, the newcomers' burst, the join gate and the multi-worker send budget."""
    raided = await raid.raid(database)
    print(raid.report(raided.figures), file=out)
    results.append(raided.result)
    if missed := raided.figures.misses():
        failures.append(f"the raid missed its targets: {'; '.join(missed)}")
    bursted = await burst.burst(database)
    print(burst.report(bursted.figures), file=out)
    results.append(bursted.result)
    if missed := bursted.figures.misses():
        failures.append(f"the burst missed its targets: {'; '.join(missed)}")
    gated = await join_gate.join_gate(database)
    print(join_gate.report(gated.figures), file=out)
    results.append(gated.result)
    if missed := gated.figures.misses():
        failures.append(f"the join gate missed its targets: {'; '.join(missed)}")
    failures.extend(await _send_budget(database, out))


async def memory_main(
    updates: int, database_url: str | None = None, out: TextIO = sys.stdout, **sizes: int
) -> int:
    """The flat-memory run alone: its figures and its summary row; 1 if its target was missed.

    SIGTERM cancels the run, so the bot's process and the embedded server are stopped too.
    """
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(
        f"memory: {updates} updates, {sizes.get('members', memory.MEMBERS)} members, "
        f"{sizes.get('groups', memory.GROUPS)} groups; the bot's RSS after each step:",
        file=out,
        flush=True,
    )
    measured = await memory.memory_run(updates, database_url=database_url, out=out, **sizes)
    print(memory.report(measured.figures), file=out)
    print(table([measured.result]), file=out)
    if missed := measured.figures.misses():
        print(f"bench: FAIL — the memory run missed its target: {'; '.join(missed)}", file=out)
        return 1
    print("bench: ok — the bot's memory stayed flat", file=out)
    return 0


async def _send_budget(database: Settings, out: TextIO) -> list[str]:
    """Run the multi-worker send budget and print its figures; what it missed, if anything."""
    budget = await send_budget.send_budget(database)
    print(send_budget.report(budget), file=out)
    missed = budget.misses()
    return [f"the send budget missed its targets: {'; '.join(missed)}"] if missed else []


async def budget_only(database: Settings, out: TextIO = sys.stdout) -> int:
    """The multi-worker send budget alone."""
    failures = await _send_budget(database, out)
    for failure in failures:
        print(f"bench: FAIL — {failure}", file=out)
    return 1 if failures else 0


def cli() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The hot path against the Bot API sandbox, as a ratio to bare PTB.",
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the burst")
    parser.add_argument("--members", type=int, default=200, help="members who speak")
    parser.add_argument("--groups", type=int, default=GROUPS, help="groups they speak in")
    parser.add_argument(
        "--hot-path-only",
        action="store_true",
        help="measure the hot path and the reads only (not the raid and the burst)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="run the flat-memory workload alone (bench/memory.py; tens of minutes at 1M)",
    )
    parser.add_argument(
        "--updates", type=int, default=memory.UPDATES, help="updates in the memory run"
    )
    parser.add_argument(
        "--memory-members", type=int, default=memory.MEMBERS, help="members in the memory run"
    )
    parser.add_argument(
        "--memory-groups", type=int, default=memory.GROUPS, help="groups in the memory run"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="the memory run's database (migrated); an embedded server by default",
    )
    parser.add_argument(
        "--send-budget-only",
        action="store_true",
        help="run the multi-worker send budget alone",
    )
    args = parser.parse_args()
    configure_logging(Settings(log_level=logging.WARNING))
    if args.memory:
        return asyncio.run(
            memory_main(
                args.updates,
                args.database_url,
                members=args.memory_members,
                groups=args.memory_groups,
            )
        )
    with tempfile.TemporaryDirectory(prefix="nezuko-bench-") as scratch:
        data_dir = Path(scratch)
        data_dir.chmod(0o711)  # the embedded server may run as `nobody`, which must enter it
        if args.send_budget_only:
            return asyncio.run(budget_only(Settings(data_dir=data_dir)))
        return asyncio.run(
            main(
                args.messages,
                args.members,
                Settings(data_dir=data_dir),
                with_raid=not args.hot_path_only,
                groups=args.groups,
            )
        )
