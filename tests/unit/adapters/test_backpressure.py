"""Backpressure's bookkeeping: retries through an outage, the gate, what is taken and kept.

The whole flow (PTB, the sandbox, a PostgreSQL server stopped and started) is in
`tests/integration/bot/test_backpressure.py` and `test_stop.py`; these pin the rules of the
parts without I/O.
"""

import asyncio
from collections.abc import Collection, Sequence
from typing import Any, cast

import pytest
from telegram import Update

from adapters.intake import JSONObject
from adapters.memory.journal import MemoryJournal
from adapters.telegram.backpressure import (
    RETRIES_WHILE_ANSWERING,
    CoalescedJournal,
    Journaling,
    RetriedOnStorageFailure,
    StorageGate,
    TakenUpdates,
)
from application.errors import StorageError

NO_CONTEXT = cast(Any, None)  # the wrapper only hands it on


def _gate(answers: list[bool], seen_open: list[bool]) -> StorageGate:
    """A gate whose probe gives `answers` in turn (then True), noting whether it was open."""
    gate = StorageGate(first_delay=0.001, max_delay=0.001)

    async def probe() -> bool:
        seen_open.append(gate.open.is_set())
        return answers.pop(0) if answers else True

    gate.probe = probe
    return gate


async def test_an_update_that_failed_during_an_outage_runs_again_once_the_database_answers() -> (
    None
):
    seen_open: list[bool] = []
    gate = _gate([False, False, False], seen_open)
    runs: list[bool] = []

    async def handler(update: Update, context: Any) -> None:
        runs.append(gate.open.is_set())
        if len(runs) < 3:
            raise StorageError("database error (08006): connection refused")

    await RetriedOnStorageFailure(handler, gate)(Update(7), NO_CONTEXT)

    assert len(runs) == 3
    # Closed from the first failed probe until one answered; the second failure asks once more.
    assert seen_open == [True, False, False, False, True]
    assert gate.open.is_set()  # open again once it answered


async def test_a_storage_failure_repeating_while_the_database_answers_is_given_up() -> None:
    """A bug, not an outage: after a few retries it goes to the error handler."""
    gate = _gate([], [])
    runs: list[int] = []

    async def handler(update: Update, context: Any) -> None:
        runs.append(update.update_id)
        raise StorageError("database error (22001): value too long")

    with pytest.raises(StorageError):
        await RetriedOnStorageFailure(handler, gate)(Update(8), NO_CONTEXT)

    assert len(runs) == RETRIES_WHILE_ANSWERING + 1
    assert gate.open.is_set()  # not an outage: intake never paused


def test_taken_updates_bound_what_is_held_and_report_only_handled_ones_to_the_journal() -> None:
    taken = TakenUpdates(limit=3)
    for update_id in (10, 11, 12):
        taken.take(update_id)
    assert not taken.has_room
    assert taken.room == 0
    taken.finish(11, handled=True)
    assert taken.room == 1
    taken.finish(12, handled=False)  # a stop gave it up: it stays in the journal
    assert taken.drain_handled() == [11]
    assert taken.drain_handled() == []
    taken.give_back([11])  # the journal did not answer: offered again
    taken.finish(10, handled=True)
    assert sorted(taken.drain_handled()) == [10, 11]
    assert taken.count == 0


async def test_journaling_keeps_handled_marks_the_journal_could_not_take() -> None:
    journal = MemoryJournal()
    taken = TakenUpdates(limit=10)
    journaling = Journaling(journal, taken, StorageGate())
    assert await journaling.keep([{"update_id": 1}, {"update_id": 2}]) == {1, 2}
    assert await journaling.keep([{"update_id": 2}, {"update_id": 3}]) == {3}  # 2 was kept
    taken.take(1)
    taken.finish(1, handled=True)
    await Journaling(_FailingMarks(), taken, StorageGate()).mark_handled()
    assert [u["update_id"] for u in await journal.leftovers()] == [1, 2, 3]
    await journaling.mark_handled()  # the journal answers again: 1 is marked now
    assert [u["update_id"] for u in await journal.leftovers()] == [2, 3]


class _FailingMarks(MemoryJournal):
    async def mark_handled(self, update_ids: Collection[int]) -> None:
        raise StorageError("database error (08006): connection refused")


class _CountingJournal(MemoryJournal):
    """Counts statements; each takes a moment, as a round trip would."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.statements: list[int] = []
        self.fail = fail

    async def keep(self, updates: Sequence[JSONObject]) -> frozenset[int]:
        self.statements.append(len(updates))
        await asyncio.sleep(0.01)
        if self.fail:
            raise StorageError("database error (08006): connection refused")
        return await super().keep(updates)


async def test_deliveries_kept_at_once_share_statements_and_each_learns_if_it_is_new() -> None:
    journal = _CountingJournal()
    coalesced = CoalescedJournal(journal)
    await coalesced.keep([{"update_id": 5}])
    answers = await asyncio.gather(*(coalesced.keep([{"update_id": n}]) for n in range(1, 41)))
    assert answers == [frozenset() if n == 5 else frozenset({n}) for n in range(1, 41)]
    assert journal.statements[0] == 1
    assert len(journal.statements) <= 3  # 40 deliveries: the first alone, the rest together
    assert sum(journal.statements) == 41


async def test_when_the_journal_fails_every_waiting_delivery_is_refused() -> None:
    coalesced = CoalescedJournal(_CountingJournal(fail=True))
    results = await asyncio.gather(
        *(coalesced.keep([{"update_id": n}]) for n in range(10)), return_exceptions=True
    )
    assert all(isinstance(result, StorageError) for result in results)
