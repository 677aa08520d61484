"""`make bench`: the hot path (DESIGN §5) against the Bot API sandbox, as a ratio to bare PTB.

The hot path is a message from a member already known to have joined every required channel.
The bench sends the same burst of such messages through two bots polling the same kind of
sandbox: a do-nothing python-telegram-bot application (the floor: HTTP, JSON, PTB's dispatch)
and the whole Nezuko bot (our handlers, caches, rate limiter, PostgreSQL). It prints both
throughputs, their ratio, and what the burst cost Nezuko beyond getUpdates: Bot API calls and
database connection checkouts (each unit of work checks one out). DESIGN §5 says both must be
zero in steady state; the exit code is 1 if they are not.

Usage: `make bench` (or `.venv/bin/python -m bench [--messages N] [--members M]
[--hot-path-only]`).
The burst's time includes the sandbox's own work (it serves both bots alike), so the ratio is
a floor-relative figure for this machine, not an absolute cost.
"""

import argparse
import asyncio
import contextlib
import logging
import resource
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
from bench import burst, join_gate, raid, reads, send_budget
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
from telegram_sandbox import Member, Sandbox, SeededWorld, Status

FIRST_MEMBER_ID = 50_000
MESSAGES_PER_INTAKE_STATEMENT = 40
"""The intake journal's budget: one statement per getUpdates batch (up to 100 updates) and one
per marking round (every 0.2 s) come to about one per 80 messages in the burst."""
INTAKE_ALLOWANCE = 5
"""Statements allowed beyond the budget, whatever the burst: a burst of a few messages still
takes a batch or two and a marking round."""
WAIT = 120.0


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

    @property
    def bot_api_calls(self) -> int:
        """How many Bot API calls (beyond getUpdates) the burst cost."""
        return len(self.calls)

    def per_second(self, messages: int) -> float:
        """Messages handled per second."""
        return messages / self.seconds


def _members(sandbox: Sandbox, count: int) -> list[int]:
    """`count` people in the group and in both required channels."""
    ids = _seeded(sandbox)
    people: list[int] = []
    for n in range(count):
        user_id = FIRST_MEMBER_ID + n
        sandbox.driver.user(user_id, f"Member {n}")
        for chat in (ids.group_id, ids.news_channel_id, ids.private_channel_id):
            sandbox.driver.place(chat, Member(user_id, Status.MEMBER))
        people.append(user_id)
    return people


def _seeded(sandbox: Sandbox) -> SeededWorld:
    seeded = sandbox.seeded
    assert seeded is not None  # Sandbox.start() seeds by default
    return seeded


async def _burst(
    sandbox: Sandbox, people: list[int], messages: int, handled: Callable[[], float]
) -> float:
    """Say `messages` messages round-robin and wait until the bot has handled them all."""
    group = _seeded(sandbox).group_id
    target = handled() + messages
    started = time.perf_counter()
    for n in range(messages):
        sandbox.driver.say(group, people[n % len(people)], f"message {n}")
    await sandbox.wait_until(lambda: handled() >= target, timeout=WAIT)
    return time.perf_counter() - started


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


async def bare_ptb(messages: int, members: int) -> Run:
    """A PTB application whose only handler counts the message."""
    handled = [0]

    async def count(_: Update, __: ContextTypes.DEFAULT_TYPE) -> None:
        handled[0] += 1

    async with Sandbox.start() as sandbox:
        people = _members(sandbox, members)
        application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(sandbox.token)
            .base_url(f"{sandbox.root_url.rstrip('/')}/bot")
            .concurrent_updates(CONCURRENT_UPDATES)
            .build()
        )
        application.add_handler(MessageHandler(filters.ChatType.GROUPS, count))
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
            await sandbox.wait_for_poller()
            await _burst(sandbox, people, members, lambda: handled[0])  # warm-up
            mark = sandbox.calls.mark()
            seconds = await _burst(sandbox, people, messages, lambda: handled[0])
            calls = _calls_since(sandbox, mark)
            await application.updater.stop()
            await application.stop()
    return Run(seconds, calls, 0)


def _handled_messages() -> float:
    return updates_handled("message")


async def nezuko(messages: int, members: int, database: Settings) -> Run:
    """The whole bot, the group protected by both channels, every member known to have joined.

    `database` chooses the database as for `nezuko run` (`database_url`, else the embedded
    server under `data_dir`); the bot's own settings point at the sandbox.
    """
    async with Sandbox.start() as sandbox:
        settings = attrs.evolve(
            database, bot_token=sandbox.token, api_url=sandbox.root_url.rstrip("/")
        )
        async with running_bot(settings):
            await sandbox.wait_for_poller()
            return await _protected_burst(sandbox, messages, members)


async def _protected_burst(sandbox: Sandbox, messages: int, members: int) -> Run:
    """Protect the group, let every member speak once, then measure the burst."""
    ids = _seeded(sandbox)
    people = _members(sandbox, members)
    mark, handled = sandbox.calls.mark(), _handled_messages()
    sandbox.driver.say(
        ids.group_id, ids.owner_id, f"/protect @nezuko_demo_news {ids.private_channel_id}"
    )
    reply = await sandbox.calls.wait_for("sendMessage", since=mark, timeout=WAIT)
    if "Protection is on" not in str(reply.param("text")):
        raise RuntimeError(f"/protect failed: {reply.param('text')}")
    # The reply leaves before the command's handling is counted; the warm-up's count must not
    # take that late count for one of its own messages.
    await sandbox.wait_until(lambda: _handled_messages() > handled, timeout=WAIT)
    mark = sandbox.calls.mark()
    with _counting_checkouts() as warm_up:  # every member speaks once: the caches fill
        await _burst(sandbox, people, members, _handled_messages)
    warm_up_calls = len(_calls_since(sandbox, mark))
    mark = sandbox.calls.mark()
    with _counting_checkouts() as checkouts:
        seconds = await _burst(sandbox, people, messages, _handled_messages)
    return Run(
        seconds, _calls_since(sandbox, mark), checkouts[0], checkouts[1], warm_up_calls, warm_up[0]
    )


async def main(
    messages: int,
    members: int,
    database: Settings,
    out: TextIO = sys.stdout,
    reads_budget: float = reads.BUDGET,
    *,
    with_raid: bool = True,
) -> int:
    """Run both bots and the raid, print the figures to `out`; 1 if a target was missed."""
    baseline = await bare_ptb(messages, members)
    ours = await nezuko(messages, members, database)
    base_rate, our_rate = baseline.per_second(messages), ours.per_second(messages)
    print(
        f"hot path: {messages} messages from {members} members who joined every channel", file=out
    )
    print(
        f"  bare PTB (do-nothing handler)   {baseline.seconds:7.3f} s  {base_rate:8.0f} msg/s",
        file=out,
    )
    print(
        f"  Nezuko (whole bot, PostgreSQL)  {ours.seconds:7.3f} s  {our_rate:8.0f} msg/s", file=out
    )
    print(f"  ratio Nezuko / bare PTB time    {ours.seconds / baseline.seconds:7.2f}", file=out)
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
    raided = await raid.raid(database) if with_raid else None
    if raided is not None:
        print(raid.report(raided), file=out)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS of the bench process after the raid: {peak:.0f} MiB", file=out)
        if missed := raided.misses():
            print(f"bench: FAIL — the raid missed its targets: {'; '.join(missed)}", file=out)
            return 1
        bursted = await burst.burst(database)
        print(burst.report(bursted), file=out)
        if missed := bursted.misses():
            print(f"bench: FAIL — the burst missed its targets: {'; '.join(missed)}", file=out)
            return 1
        gated = await join_gate.join_gate(database)
        print(join_gate.report(gated), file=out)
        if missed := gated.misses():
            print(f"bench: FAIL — the join gate missed its targets: {'; '.join(missed)}", file=out)
            return 1
        if budget_failed(await send_budget.send_budget(database), out):
            return 1
    if ours_reads.done < reads.CALLS:
        print("bench: FAIL — reads were held back by our rate limiter", file=out)
        return 1
    if ours.bot_api_calls or ours.db_checkouts:
        print(
            "bench: FAIL — the hot path must cost no Telegram call and no database round trip",
            file=out,
        )
        return 1
    if ours.intake_checkouts > messages / MESSAGES_PER_INTAKE_STATEMENT + INTAKE_ALLOWANCE:
        print("bench: FAIL — the intake journal wrote more often than its budget", file=out)
        return 1
    print(
        "bench: ok — the hot path cost no Telegram call and no database round trip "
        "(the intake journal's batch statements within budget)",
        file=out,
    )
    return 0


def budget_failed(result: send_budget.BudgetResult, out: TextIO) -> bool:
    """Print the multi-worker send budget's figures; whether it missed a target."""
    print(send_budget.report(result), file=out)
    if missed := result.misses():
        print(f"bench: FAIL — the send budget missed its targets: {'; '.join(missed)}", file=out)
        return True
    return False


async def budget_only(database: Settings, out: TextIO = sys.stdout) -> int:
    """The multi-worker send budget alone."""
    return 1 if budget_failed(await send_budget.send_budget(database), out) else 0


def cli() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The hot path against the Bot API sandbox, as a ratio to bare PTB.",
    )
    parser.add_argument("--messages", type=int, default=5000, help="messages in the burst")
    parser.add_argument("--members", type=int, default=20, help="members who speak")
    parser.add_argument(
        "--hot-path-only",
        action="store_true",
        help="measure the hot path and the reads only (not the raid and the burst)",
    )
    parser.add_argument(
        "--send-budget-only",
        action="store_true",
        help="run the multi-worker send budget alone",
    )
    args = parser.parse_args()
    configure_logging(Settings(log_level=logging.WARNING))
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
            )
        )
