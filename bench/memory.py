"""The flat-memory run (issue 15, point 4): a million updates through the bot, RSS held flat.

`python -m bench --memory [--updates N]` (or `make bench-memory`). Messages from `MEMBERS`
distinct members across `GROUPS` groups, every group protected by one channel, with joins,
leaves, channel joins and button presses mixed in:

- members speak in turn (a fixed shuffled order, all of them within the first `MEMBERS`
  messages, so the first 100,000 updates fill the caches and the rest is steady state);
- one in `NON_SUBSCRIBER_EVERY` never joined the channel: their first message is answered with
  a mute and a (merged, paced) warning, and they cannot speak until freed;
- every `LEAVE_EVERY` steps a member leaves their group, and every `LEAVE_EVERY` steps one who
  left comes back (a chat_member update and a service message each);
- every `PRESS_EVERY` steps a muted member joins the channel (a chat_member update in the
  channel: the bot frees them) and presses the button of the bot's latest message in their
  group (a callback_query).

The bot runs as its own process (`nezuko run`) on PostgreSQL (the embedded server unless
`--database-url`), so its RSS is its own: the sandbox, which keeps every message it serves, is
in the bench's process and prunes its world as it goes. PostgreSQL, not `--memory`: in memory
mode the bot's store *is* process memory and grows with what it stores (members seen, audit
events, restrictions) by design; the question is whether the bot's caches and per-member
structures stay bounded. Target: the bot's RSS after the run within `RSS_GROWTH` of its RSS
after the first `FIRST` updates (both read from /proc after the bot caught up).

Figures: the count, the time, updates per second, handling latency p50/p99 from the bot's own
`nezuko_update_handling_seconds` histogram (bucket bounds: the bot is another process; the
time covers the handling, not the wait in the queue), Bot API calls and PostgreSQL
transactions per 1,000 updates (`pg_stat_database`: the journal's statements and every unit of
work, background loops included), 429s, the bot's peak RSS (VmHWM) and its RSS at 100k and at
the end.
"""

import asyncio
import collections
import contextlib
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TextIO

import attrs
import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.postgres.embedded import embedded_database, free_port
from bench.results import Measured, Result
from telegram_sandbox import AdminRights, DriverError, Member, Sandbox, Status

UPDATES = 1_000_000
MEMBERS = 100_000
GROUPS = 1_000
FIRST = 100_000
"""RSS is compared with the bot's after this many updates."""
RSS_GROWTH = 0.10
NON_SUBSCRIBER_EVERY = 50
LEAVE_EVERY = 100
PRESS_EVERY = 250
PENDING = 1_000
"""Updates the sandbox holds for the bot at most (the feeder waits for the bot beyond it)."""
PRUNE_EVERY = 20_000
KEEP_MESSAGES = 50
"""Messages the sandbox keeps per chat when it prunes (the bot's own are kept too)."""
FIRST_MEMBER = 10_000_000
FIRST_GROUP = -1002000000000
SETTLE = 5.0
"""Seconds after the bot caught up before its RSS is read (paced sends, marking rounds)."""
PATIENCE = 600.0


@attrs.frozen
class MemoryResult:
    """What the run came to."""

    updates: int
    seconds: float
    rss_first: float
    """The bot's RSS (MiB) once it handled the first `FIRST` updates (or a tenth of a shorter
    run)."""
    rss_end: float
    peak: float
    """The bot's peak RSS (VmHWM), MiB."""
    api_calls: int
    transactions: int | None
    floods: int
    p50: float | None
    p99: float | None
    checkpoints: tuple[tuple[int, float], ...]
    """(updates handled, RSS MiB) along the run."""
    first: int

    @property
    def growth(self) -> float:
        """RSS at the end over RSS at the first checkpoint, minus one."""
        return self.rss_end / self.rss_first - 1

    def misses(self) -> list[str]:
        """The target missed (none: met)."""
        if self.growth > RSS_GROWTH:
            return [
                f"the bot's RSS grew {self.growth:.1%} from {self.first} updates to the end "
                f"(target {RSS_GROWTH:.0%})"
            ]
        return []


def _group_of(member: int, groups: int) -> int:
    return FIRST_GROUP - (member - FIRST_MEMBER) % groups


@attrs.define
class _World:
    """The run's population and what the feeder knows of it."""

    sandbox: Sandbox
    members: int
    groups: int
    channel: int
    order: list[int]
    cursor: int = 0
    step: int = 0
    published: int = 0
    left: collections.deque[int] = attrs.field(factory=collections.deque[int])
    muted: collections.deque[int] = attrs.field(factory=collections.deque[int])
    tracked: set[int] = attrs.field(factory=set[int])

    def group_of(self, member: int) -> int:
        """The group `member` belongs to."""
        return _group_of(member, self.groups)

    def speaker(self) -> int:
        member = self.order[self.cursor % len(self.order)]
        self.cursor += 1
        return member

    def next(self) -> None:
        """One step: a message, or now and then a leave, a return or a press."""
        self.step += 1
        driver = self.sandbox.driver
        if self.step % LEAVE_EVERY == 7:
            member = self.speaker()
            with contextlib.suppress(DriverError):  # muted members' leaves are skipped
                if driver.can_send(self.group_of(member), member):
                    driver.leave(self.group_of(member), member)
                    self.left.append(member)
            return
        if self.step % LEAVE_EVERY == 57 and self.left:
            member = self.left.popleft()
            with contextlib.suppress(DriverError):
                driver.join(self.group_of(member), member)
            return
        if self.step % PRESS_EVERY == 31 and self.muted:
            with contextlib.suppress(DriverError):
                self._press(self.muted.popleft())
            return
        member = self.speaker()
        group = self.group_of(member)
        try:
            driver.say(group, member, f"message {self.step}")
        except DriverError:
            if driver.is_restricted(group, member) and member not in self.tracked:
                self.tracked.add(member)
                self.muted.append(member)

    def _press(self, member: int) -> None:
        driver = self.sandbox.driver
        self.tracked.discard(member)
        if not driver.is_member(self.channel, member):
            driver.join(self.channel, member)
        group = self.group_of(member)
        for message in reversed(driver.bot_messages(group)):
            buttons = [b for b in message.buttons() if "callback_data" in b]
            if buttons and not message.deleted:
                driver.press(member, message, str(buttons[0]["callback_data"]))
                return

    def prune(self) -> None:
        """Forget all but the last `KEEP_MESSAGES` messages of each chat (the bot's aside)."""
        bot = self.sandbox.world.bot.id
        for messages in self.sandbox.world.messages.values():
            if len(messages) > 2 * KEEP_MESSAGES:
                ids = sorted(messages)
                for message_id in ids[:-KEEP_MESSAGES]:
                    if messages[message_id].from_id != bot or messages[message_id].deleted:
                        del messages[message_id]


def _populate(sandbox: Sandbox, members: int, groups: int) -> _World:
    """The groups (the bot an admin in each), the members, the channel's subscribers."""
    ids = sandbox.seeded
    assert ids is not None  # Sandbox.start() seeds by default
    driver, owner, channel = sandbox.driver, ids.owner_id, ids.news_channel_id
    for n in range(groups):
        driver.supergroup(FIRST_GROUP - n, f"Group {n}", owner_id=owner)
    people = list(range(FIRST_MEMBER, FIRST_MEMBER + members))
    for member in people:
        driver.user(member, f"Member {member - FIRST_MEMBER}")
        driver.place(_group_of(member, groups), Member(member, Status.MEMBER))
        if (member - FIRST_MEMBER) % NON_SUBSCRIBER_EVERY:
            driver.place(channel, Member(member, Status.MEMBER))
    random.Random(15).shuffle(people)
    return _World(sandbox, members, groups, channel, people)


def _bot_rss(pid: int) -> tuple[float, float]:
    """The bot process's RSS and peak RSS (VmRSS, VmHWM), MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


@attrs.define
class _Metrics:
    """The bot's /metrics: updates handled, and the handling histogram's buckets."""

    url: str
    client: httpx.AsyncClient

    async def read(self) -> tuple[float, dict[float, float]]:
        """Updates handled (every type), and the cumulative bucket counts by upper bound."""
        text = (await self.client.get(self.url)).text
        handled, buckets = 0.0, dict[float, float]()
        for family in text_string_to_metric_families(text):
            if family.name != "nezuko_update_handling_seconds":
                continue
            for sample in family.samples:
                if sample.name.endswith("_count"):
                    handled += sample.value
                elif sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
        return handled, buckets

    async def handled_at_least(self, count: float) -> None:
        """Wait until the bot has handled `count` updates (`PATIENCE` at most)."""
        async with asyncio.timeout(PATIENCE):
            while True:
                handled, _ = await self.read()
                if handled >= count:
                    return
                await asyncio.sleep(0.5)


def _bucket_quantile(
    before: dict[float, float], after: dict[float, float], q: float
) -> float | None:
    """The upper bound of the bucket holding the `q` quantile of what was observed between."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    wanted = q * counts[-1]
    return next((b for b, c in zip(bounds, counts, strict=True) if c >= wanted), math.inf)


@contextlib.asynccontextmanager
async def _database(database_url: str | None) -> AsyncGenerator[str]:
    """The runtime URL: `database_url` (migrated already), else an embedded server's."""
    if database_url is not None:
        yield database_url
        return
    with tempfile.TemporaryDirectory(prefix="nezuko-bench-memory-") as scratch:
        os.chmod(scratch, 0o711)  # the embedded server may run as `nobody`: it must enter
        async with embedded_database(Path(scratch)) as urls:
            yield urls.runtime


async def _transactions(url: str) -> int | None:
    """Transactions committed or rolled back in the database so far (`pg_stat_database`)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            value = await connection.scalar(
                text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
            )
        return int(str(value))
    except (OSError, SQLAlchemyError):
        return None
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _bot_process(sandbox: Sandbox, database_url: str, port: int) -> AsyncGenerator[int]:
    """`nezuko run` against the sandbox, on `database_url`, serving /metrics on `port`."""
    with tempfile.TemporaryDirectory(prefix="nezuko-bench-bot-") as scratch:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "NEZUKO_"))},
            "TELEGRAM_BOT_TOKEN": sandbox.token,
            "TELEGRAM_API_URL": sandbox.root_url.rstrip("/"),
            "DATABASE_URL": database_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "NEZUKO_DATA_DIR": scratch,
        }
        log_path = os.path.join(scratch, "bot.log")
        with open(log_path, "wb") as log:  # noqa: ASYNC230 -- opened once, written by the child
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "nezuko", "run", cwd=scratch, env=env, stdout=log, stderr=log
            )
            try:
                yield process.pid
            finally:
                if process.returncode is None:
                    process.terminate()
                    try:
                        async with asyncio.timeout(20):
                            await process.wait()
                    except TimeoutError:
                        process.kill()
                        await process.wait()
        if process.returncode not in (0, -15):
            with open(log_path, encoding="utf-8") as written:  # noqa: ASYNC230 -- after the end
                sys.stderr.write(written.read()[-4000:])


async def _setup(world: _World, metrics: _Metrics, out: TextIO) -> None:
    """Put the bot in every group and protect each with the channel."""
    sandbox, started = world.sandbox, time.monotonic()
    ids = sandbox.seeded
    assert ids is not None
    driver, calls = sandbox.driver, sandbox.calls
    mark = calls.mark()
    for n in range(world.groups):
        driver.add_bot(FIRST_GROUP - n, by=ids.owner_id, rights=AdminRights.moderator())
        driver.say(FIRST_GROUP - n, ids.owner_id, "/protect @nezuko_demo_news")
        await _room(world)

    def protected() -> int:
        return sum(
            1 for c in calls.of("sendMessage", since=mark) if "Protection is on" in str(c.params)
        )

    await sandbox.wait_until(lambda: protected() >= world.groups, timeout=PATIENCE)
    await metrics.handled_at_least(world.published)
    print(
        f"  set-up: {world.groups} groups protected in {time.monotonic() - started:.0f} s",
        file=out,
    )


async def _room(world: _World) -> None:
    """Wait while the sandbox holds `PENDING` updates the bot has not taken."""
    pending = world.sandbox.world
    await world.sandbox.wait_until(lambda: len(pending.updates) < PENDING, timeout=PATIENCE)


async def _feed(world: _World, count: int) -> None:
    """Make `count` more updates available to the bot, `PENDING` at most waiting at once."""
    target = world.published + count
    while world.published < target:
        if len(world.sandbox.world.updates) >= PENDING:
            await _room(world)
        world.next()
        if world.step % PRUNE_EVERY == 0:
            world.prune()
        if world.step % 200 == 0:
            await asyncio.sleep(0)  # the sandbox serves the bot meanwhile


async def memory_run(
    updates: int = UPDATES,
    members: int = MEMBERS,
    groups: int = GROUPS,
    database_url: str | None = None,
    out: TextIO = sys.stdout,
) -> Measured[MemoryResult]:
    """Run the workload; print progress lines to `out`."""
    first = min(FIRST, updates // 10)
    async with (
        _database(database_url) as url,
        Sandbox.start() as sandbox,
        httpx.AsyncClient(timeout=10) as client,
    ):
        world = _populate(sandbox, members, groups)
        counted = world.sandbox.world.on_update

        def on_update() -> None:
            world.published += 1
            counted()

        sandbox.world.on_update = on_update
        port = free_port()
        metrics = _Metrics(f"http://127.0.0.1:{port}/metrics", client)
        async with _bot_process(sandbox, url, port) as pid:
            await _started(metrics)
            await _setup(world, metrics, out)
            mark, base = sandbox.calls.mark(), world.published
            handled_before, buckets_before = await metrics.read()
            transactions_before = await _transactions(url)
            started = time.monotonic()
            checkpoints: list[tuple[int, float]] = []
            rss_first = 0.0
            step = max(first, updates // 10)
            done = 0
            while done < updates:
                chunk = min(first if done == 0 else step, updates - done)
                await _feed(world, chunk)
                done += chunk
                await metrics.handled_at_least(handled_before + world.published - base)
                rss, _ = _bot_rss(pid)
                checkpoints.append((done, rss))
                print(
                    f"  {done:>9} updates  {time.monotonic() - started:7.1f} s  "
                    f"bot RSS {rss:6.1f} MiB",
                    file=out,
                    flush=True,
                )
                if done == first:
                    await asyncio.sleep(SETTLE)
                    rss_first, _ = _bot_rss(pid)
            seconds = time.monotonic() - started
            await asyncio.sleep(SETTLE)
            rss_end, peak = _bot_rss(pid)
            _, buckets_after = await metrics.read()
            transactions_after = await _transactions(url)
        calls = sandbox.calls.all(since=mark)
        published = world.published - base
        figures = MemoryResult(
            updates=published,
            seconds=seconds,
            rss_first=rss_first,
            rss_end=rss_end,
            peak=peak,
            api_calls=sum(1 for c in calls if c.method != "getUpdates"),
            transactions=(
                None
                if transactions_before is None or transactions_after is None
                else transactions_after - transactions_before
            ),
            floods=sum(1 for c in calls if c.status == 429),
            p50=_bucket_quantile(buckets_before, buckets_after, 0.50),
            p99=_bucket_quantile(buckets_before, buckets_after, 0.99),
            checkpoints=tuple(checkpoints),
            first=first,
        )
    return Measured(figures, _row(figures, members, groups))


async def _started(metrics: _Metrics) -> None:
    """Wait until the bot answers /metrics (it serves HTTP before the database is up)."""
    async with asyncio.timeout(120):
        while True:
            with contextlib.suppress(httpx.HTTPError):
                await metrics.read()
                return
            await asyncio.sleep(0.5)


def _row(figures: MemoryResult, members: int, groups: int) -> Result:
    return Result(
        workload=f"memory ({figures.updates:,} updates, {members:,} members, {groups:,} groups)",
        updates=figures.updates,
        seconds=figures.seconds,
        p50=figures.p50,
        p99=figures.p99,
        bot_api_calls=figures.api_calls,
        db_round_trips=figures.transactions,
        floods=figures.floods,
        peak_rss_mib=figures.peak,
        final_rss_mib=figures.rss_end,
        missed=tuple(figures.misses()),
        note=(
            "the bot's own process; p50/p99 are the upper bounds of its handling histogram's "
            "buckets (handling only); DB/1k counts PostgreSQL transactions, not round trips; "
            f"RSS {figures.rss_first:.0f} MiB after {figures.first:,} updates, "
            f"{figures.rss_end:.0f} MiB at the end ({figures.growth:+.1%}, "
            f"target +{RSS_GROWTH:.0%})"
        ),
    )


def report(figures: MemoryResult) -> str:
    """The figures, one line each."""
    return "\n".join(
        (
            f"memory: {figures.updates} updates in {figures.seconds:.0f} s "
            f"({figures.updates / figures.seconds:.0f}/s), the bot in its own process, PostgreSQL",
            f"  bot RSS after {figures.first} updates: {figures.rss_first:6.1f} MiB",
            f"  bot RSS at the end:            {figures.rss_end:6.1f} MiB "
            f"({figures.growth:+.1%}; target at most +{RSS_GROWTH:.0%})",
            f"  bot peak RSS (VmHWM):          {figures.peak:6.1f} MiB",
            f"  Bot API calls:                 {figures.api_calls} "
            f"({figures.api_calls * 1000 / max(figures.updates, 1):.1f} per 1,000 updates)",
            f"  429s received:                 {figures.floods}",
        )
    )
