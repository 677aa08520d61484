"""One record per workload, and the summary table `make bench` prints at the end.

Every workload reports the same columns (issue 15's "Done when"): throughput and its ratio to
bare PTB (where the two ran the same stream: the hot path; "n/a" elsewhere), p50/p99 handling
latency, Bot API calls and database round trips per 1,000 updates, 429s, peak and final RSS.

How each figure is observed:

- *Updates*: those the sandbox made available to the bot during the workload (`world.publish`,
  seen through `World.on_update`), messages, joins, leaves and button presses alike.
- *Handling latency*: per update, from the moment the sandbox made it available (a long poll
  waiting for it is woken then) to the moment the bot's handling of it was done: for Nezuko
  `TakenUpdates.finish(handled=True)`, called by the update processor once every handler group
  ran (the moment the intake journal may mark it handled); for bare PTB the return of its one
  handler. Exact per-update timestamps on one `perf_counter`, not Prometheus buckets. Under a
  burst fed all at once this includes the wait behind the updates before it (the backlog), so
  the burst's p50 is about half its duration: the paced hot path row measures latency below
  capacity.
- *Throughput*: updates handled per second, from the first update made available to the last
  handled. For the paced workloads (raid, join gate) it is the input's pace, not a capacity.
- *Bot API calls*: every call the sandbox served except getUpdates.
- *Database round trips*: SQLAlchemy's BEGIN, statements and COMMIT/ROLLBACK (one round trip
  each with asyncpg) plus the intake journal's raw statements (one per checkout of its pool,
  outside SQLAlchemy); the pool's pre-ping is not counted. For the hot path, those of the
  updates' handling and intake only (the background loops poll once a second whatever the
  traffic); for the other workloads, everything (the paced sender and the scheduled actions do
  their work there).
- *RSS*: of the bench process (the sandbox and the bot in one process, as the workloads run
  them), sampled every 0.1 s during the workload: the peak, and the value at its end.
"""

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any
from unittest import mock

import attrs
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from adapters.telegram.backpressure import TakenUpdates
from bootstrap.bot import DUE_ACTIONS_TASK, INTAKE_TASKS, LOG_TASK, SENDER_TASK
from telegram_sandbox import Sandbox

_PAGE = os.sysconf("SC_PAGE_SIZE")


@attrs.frozen
class Result:
    """What one workload came to, in the summary table's columns."""

    workload: str
    updates: int
    seconds: float
    """From the first update made available to the last one handled."""
    p50: float | None
    """Handling latency, seconds (None: not observed)."""
    p99: float | None
    bot_api_calls: int
    db_round_trips: int | None
    """None: not observed (the reason is in `note`)."""
    floods: int
    """429s the bot received."""
    peak_rss_mib: float
    final_rss_mib: float
    ratio: float | None = None
    """Throughput as a fraction of bare PTB's on the same stream (None: no such comparison)."""
    missed: tuple[str, ...] = ()
    """The workload's targets it missed (none: all met)."""
    note: str = ""

    @property
    def per_second(self) -> float:
        """Updates handled per second."""
        return self.updates / self.seconds if self.seconds > 0 else math.inf

    def per_thousand(self, count: int) -> float:
        """`count` per 1,000 updates."""
        return count * 1000 / self.updates if self.updates else 0.0


def rss_mib() -> float:
    """The resident set size of this process now, MiB."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


@attrs.define
class RssSampler:
    """The process's RSS, sampled every `interval` seconds while `sampling()` runs."""

    interval: float = 0.1
    peak: float = 0.0
    final: float = 0.0

    @contextlib.asynccontextmanager
    async def sampling(self) -> AsyncGenerator["RssSampler"]:
        """Sample while the block runs; `peak` and `final` are set when it ends."""
        self.peak = rss_mib()

        async def sample() -> None:
            while True:
                self.peak = max(self.peak, rss_mib())
                await asyncio.sleep(self.interval)

        task = asyncio.create_task(sample())  # noqa: TID251 -- cancelled and awaited below
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.final = rss_mib()
            self.peak = max(self.peak, self.final)


@attrs.define
class Stamps:
    """When each update was made available by the sandbox, and when the bot was done with it."""

    published: dict[int, float] = attrs.field(factory=dict[int, float])
    done: dict[int, float] = attrs.field(factory=dict[int, float])

    def handled(self, update_id: int) -> None:
        """Note the bot done with `update_id` now."""
        self.done[update_id] = time.perf_counter()

    @property
    def count(self) -> int:
        """Updates made available while watching."""
        return len(self.published)

    def latencies(self) -> list[float]:
        """Handling latency of every update made available and handled while watching."""
        published = self.published
        return sorted(t - published[u] for u, t in self.done.items() if u in published)

    def span(self) -> float:
        """Seconds from the first update made available to the last one handled."""
        ends = [t for u, t in self.done.items() if u in self.published]
        if not ends or not self.published:
            return 0.0
        return max(ends) - min(self.published.values())

    def quantiles(self) -> tuple[float | None, float | None]:
        """p50 and p99 of `latencies()` (None when nothing was handled)."""
        return quantile(self.latencies(), 0.50), quantile(self.latencies(), 0.99)


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """The `q` quantile of sorted values (nearest rank), None if there are none."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@contextlib.contextmanager
def watching(sandbox: Sandbox, stamps: Stamps | None = None) -> Generator[Stamps]:
    """Time every update the sandbox makes available and Nezuko handles while the block runs.

    The hooks: the sandbox's `World.on_update` (called as each update is queued) and
    `TakenUpdates.finish` (the update processor's "done", every handler group run), patched
    on the class for the block's duration: the bot in this process is built inside
    `running_bot`, out of reach.
    """
    stamps = stamps if stamps is not None else Stamps()
    world = sandbox.world
    woken = world.on_update
    published = stamps.published

    def on_update() -> None:
        published[world.updates[-1].update_id] = time.perf_counter()
        woken()

    finish = TakenUpdates.finish

    def finished(self: TakenUpdates, update_id: int, *, handled: bool) -> None:
        finish(self, update_id, handled=handled)
        if handled:
            stamps.handled(update_id)

    world.on_update = on_update
    try:
        with mock.patch.object(TakenUpdates, "finish", finished):
            yield stamps
    finally:
        world.on_update = woken


@attrs.define
class RoundTrips:
    """Database round trips counted while `counting()` runs."""

    skip_background: bool = False
    """Leave out the background loops' (due actions, paced sender, log channels)."""
    count: int = 0
    checkouts: int = 0
    """Pool checkouts (each unit of work checks one out; so does each journal statement)."""
    journal: int = 0
    """Checkouts by the intake journal's tasks (one raw statement each, outside SQLAlchemy)."""

    def _counted(self) -> bool:
        if not self.skip_background:
            return True
        task = asyncio.current_task()
        name = task.get_name() if task is not None else ""
        return not name.startswith((DUE_ACTIONS_TASK, SENDER_TASK, LOG_TASK))

    @contextlib.contextmanager
    def counting(self) -> Generator["RoundTrips"]:
        """Count while the block runs."""

        def statement(*_: Any) -> None:
            if self._counted():
                self.count += 1

        def checkout(*_: Any) -> None:
            if not self._counted():
                return
            self.checkouts += 1
            task = asyncio.current_task()
            if task is not None and task.get_name() in INTAKE_TASKS:
                self.journal += 1
                self.count += 1

        listeners: list[tuple[type[Any], str, Callable[..., None]]] = [
            (Engine, "begin", statement),
            (Engine, "before_cursor_execute", statement),
            (Engine, "commit", statement),
            (Engine, "rollback", statement),
            (Pool, "checkout", checkout),
        ]
        for target, name, listener in listeners:
            event.listen(target, name, listener)
        try:
            yield self
        finally:
            for target, name, listener in listeners:
                event.remove(target, name, listener)


def floods_since(sandbox: Sandbox, mark: int) -> int:
    """429s the sandbox answered since `mark`."""
    return sum(1 for c in sandbox.calls.all(since=mark) if c.status == 429)


def calls_since(sandbox: Sandbox, mark: int) -> int:
    """Bot API calls since `mark`, getUpdates aside."""
    return sum(1 for c in sandbox.calls.all(since=mark) if c.method != "getUpdates")


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 1.0:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def table(results: Sequence[Result]) -> str:
    """The summary table, one row per workload, then the notes."""
    header = (
        "workload",
        "updates",
        "upd/s",
        "x PTB",
        "p50",
        "p99",
        "API/1k",
        "DB/1k",
        "429s",
        "peak RSS",
        "end RSS",
        "targets",
    )
    rows: list[tuple[str, ...]] = [header]
    for r in results:
        rows.append(
            (
                r.workload,
                f"{r.updates}",
                f"{r.per_second:.0f}",
                "n/a" if r.ratio is None else f"{r.ratio:.2f}",
                _seconds(r.p50),
                _seconds(r.p99),
                f"{r.per_thousand(r.bot_api_calls):.1f}",
                "n/a" if r.db_round_trips is None else f"{r.per_thousand(r.db_round_trips):.1f}",
                f"{r.floods}",
                f"{r.peak_rss_mib:.0f} MiB",
                f"{r.final_rss_mib:.0f} MiB",
                "MISSED" if r.missed else "met",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        if r.note:
            lines.append(f"  {r.workload}: {r.note}")
        for miss in r.missed:
            lines.append(f"  {r.workload} MISSED: {miss}")
    return "\n".join(lines)


@attrs.frozen
class Measured[T]:
    """A workload's own figures (its prose report, its targets) and its summary row."""

    figures: T
    result: Result


@attrs.define
class Measurement:
    """What `measuring()` observed; `result()` turns it into a summary row."""

    sandbox: Sandbox
    stamps: Stamps
    trips: RoundTrips
    rss: RssSampler
    mark: int

    def result(self, workload: str, missed: Sequence[str] = (), note: str = "") -> Result:
        """The row: the updates made available and handled in the window, and their costs."""
        p50, p99 = self.stamps.quantiles()
        return Result(
            workload=workload,
            updates=self.stamps.count,
            seconds=self.stamps.span(),
            p50=p50,
            p99=p99,
            bot_api_calls=calls_since(self.sandbox, self.mark),
            db_round_trips=self.trips.count,
            floods=floods_since(self.sandbox, self.mark),
            peak_rss_mib=self.rss.peak,
            final_rss_mib=self.rss.final,
            missed=tuple(missed),
            note=note,
        )


@contextlib.asynccontextmanager
async def measuring(sandbox: Sandbox) -> AsyncGenerator[Measurement]:
    """Observe a workload against `sandbox` (and the Nezuko running in this process)."""
    with RoundTrips().counting() as trips, watching(sandbox) as stamps:
        async with RssSampler().sampling() as rss:
            yield Measurement(sandbox, stamps, trips, rss, sandbox.calls.mark())
