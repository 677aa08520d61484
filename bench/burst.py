"""The newcomers' burst (issue 11, point 5): 30 members who have not joined write at once.

Right after `/protect`, 30 newcomers write in the group at the same moment (Telegram's flood
limits on, the bot's real pacing); 2 s later an admin of that same group asks `/status`.
Figures: the time until all 30 are muted, the messages the bot sent into the group for them, the
time until the admin's answer, and the 429s received. Before the paced sender with priorities
and merged warnings (issue 10), the answer came after 111.7 s: it queued behind 30 warnings at
the group's 20-a-minute pace. `make bench` holds the figures to `TARGETS`.
"""

import asyncio
import time

import attrs

from adapters.system_clock import MovableClock
from bench.raid import settings_against
from bench.results import Measured, measuring
from bootstrap.bot import running_bot
from bootstrap.settings import Settings
from telegram_sandbox import FloodLimits, Member, Sandbox, Status

NEWCOMERS = 30
ASKED_AFTER = 2.0
"""Seconds after the burst the admin asks `/status`."""
SETTLE = 5.0
"""Seconds after the answer during which the warnings sent still count."""


@attrs.frozen
class Targets:
    """What the burst must come to (issue 11's "Done when")."""

    answered_within: float = 5.0
    messages_at_most: int = 5
    """"At most a handful of messages for the 30 mutes"."""


TARGETS = Targets()


@attrs.frozen
class BurstResult:
    """What one burst came to."""

    muted_after: float
    """Seconds from the burst until every newcomer was muted."""
    messages_into_group: int
    """Warnings the bot sent into the group for the mutes (until `SETTLE` after the answer)."""
    answered_after: float
    """Seconds from the admin's `/status` until the bot's answer."""
    floods: int

    def misses(self, targets: Targets = TARGETS) -> list[str]:
        """The targets this result missed (none: all met)."""
        missed: list[str] = []
        if self.answered_after > targets.answered_within:
            missed.append(f"the admin's answer took {self.answered_after:.1f} s")
        if self.messages_into_group > targets.messages_at_most:
            missed.append(f"{self.messages_into_group} messages for the mutes")
        if self.floods:
            missed.append(f"{self.floods} 429s")
        return missed


async def burst(base: Settings) -> Measured[BurstResult]:
    """Run the burst against a fresh sandbox, on the database `base` configures."""
    async with (
        Sandbox.start(limits=FloodLimits()) as sandbox,
        running_bot(settings_against(sandbox, base), clock=MovableClock()),
    ):
        async with measuring(sandbox) as measurement:
            figures = await _burst(sandbox)
        row = measurement.result(
            f"newcomers' burst ({NEWCOMERS})",
            figures.misses(),
            f"a few updates over {ASKED_AFTER + SETTLE:.0f} s and more of paced warnings: "
            "per-1k figures are per newcomer's message, not a rate",
        )
        return Measured(figures, row)


async def _burst(sandbox: Sandbox) -> BurstResult:
    await sandbox.wait_for_poller()
    ids, driver, calls = sandbox.seeded, sandbox.driver, sandbox.calls
    assert ids is not None
    group, owner = ids.group_id, ids.owner_id
    driver.say(group, owner, "/protect @nezuko_demo_news")
    await calls.wait_for("sendMessage", lambda c: c.param("chat_id") == group, timeout=30)
    mark = calls.mark()
    newcomers = [driver.user(600_000 + n, f"Newcomer {n}").id for n in range(NEWCOMERS)]
    for newcomer in newcomers:
        driver.place(group, Member(newcomer, Status.MEMBER))
    started = time.monotonic()
    for newcomer in newcomers:
        driver.say(group, newcomer, "hello!")

    async def all_muted() -> float:
        await sandbox.wait_until(
            lambda: all(driver.is_restricted(group, n) for n in newcomers), timeout=120
        )
        return time.monotonic()

    async with asyncio.TaskGroup() as tasks:
        muting = tasks.create_task(all_muted())
        await asyncio.sleep(max(0.0, started + ASKED_AFTER - time.monotonic()))
        asked_at, asking = time.time(), calls.mark()
        driver.say(group, owner, "/status")
        answer = await calls.wait_for(
            "sendMessage",
            lambda c: c.param("chat_id") == group and "Protection is" in str(c.param("text")),
            since=asking,
            timeout=180,
        )
    answered_after = answer.at - asked_at
    muted_after = muting.result() - started
    await asyncio.sleep(SETTLE)  # warnings still on their way count too
    warnings = [
        c
        for c in calls.of("sendMessage", since=mark)
        if c.param("chat_id") == group and "Verify" in str(c.param("reply_markup"))
    ]
    return BurstResult(
        muted_after=muted_after,
        messages_into_group=len(warnings),
        answered_after=answered_after,
        floods=sum(1 for c in calls.all(since=mark) if c.status == 429),
    )


def report(result: BurstResult) -> str:
    """The figures, one line each."""
    return "\n".join(
        (
            f"burst: {NEWCOMERS} newcomers who have not joined write at once right after "
            "/protect, flood limits on",
            f"  all muted:                        {result.muted_after:6.2f} s after the burst",
            f"  warnings sent into the group:     {result.messages_into_group} "
            f"(target at most {TARGETS.messages_at_most})",
            f"  the admin's /status answered:     {result.answered_after:6.2f} s after asking "
            f"(target {TARGETS.answered_within:.0f} s)",
            f"  429s received:                    {result.floods} (target 0)",
        )
    )
