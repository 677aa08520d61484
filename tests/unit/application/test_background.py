"""The background loops: a database outage is one warning line a minute, a bug a traceback."""

import asyncio
import logging

import attrs
import pytest

from application import background
from application.background import OutageLog, run_due_actions_forever
from application.errors import StorageError
from application.use_cases.run_due_actions import RunDueActions, RunReport
from tests.unit.world import World


@attrs.define
class _Script:
    failures: list[Exception]
    until: int
    runs: int = 0
    done: asyncio.Event = attrs.field(factory=asyncio.Event)


@attrs.frozen
class _Failing(RunDueActions):
    """The real use case, except that each run fails with the next of the script's failures."""

    script: _Script = attrs.field(factory=lambda: _Script([], 0))

    async def execute(self) -> RunReport:
        self.script.runs += 1
        if self.script.runs >= self.script.until:
            self.script.done.set()
        if self.script.failures:
            raise self.script.failures.pop(0)
        return await super().execute()


def _failing(world: World, failures: list[Exception], runs: int) -> _Failing:
    fields = {f.alias: getattr(world.run_due_actions, f.name) for f in attrs.fields(RunDueActions)}
    return _Failing(**fields, script=_Script(failures, runs))


async def _loop(runner: _Failing) -> None:
    task = asyncio.create_task(run_due_actions_forever(runner, 0.001))
    await asyncio.wait_for(runner.script.done.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_database_outage_is_one_warning_without_traceback_then_one_when_over(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    outage = [StorageError("database error (no sqlstate): ConnectionRefusedError")] * 50
    runner = _failing(world, list(outage), runs=52)
    with caplog.at_level(logging.DEBUG, logger=background.__name__):
        await _loop(runner)
    lines = [r for r in caplog.records if r.name == background.__name__]
    assert [r.getMessage().split(" ")[0] for r in lines] == [
        "due_actions.failed",
        "due_actions.failed.recovered",
    ]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in lines)
    assert "ConnectionRefusedError" in lines[0].getMessage()


async def test_an_outage_is_reported_again_once_a_minute_not_every_failure() -> None:
    log = OutageLog("due_actions.failed", every=0.05)
    loop = asyncio.get_running_loop()
    lines = 0
    began = loop.time()
    while loop.time() - began < 0.22:
        before = log.failures
        log.failed(StorageError("down"))
        lines += log.failures < before + 1  # the count restarts after each line
        await asyncio.sleep(0.005)
    assert 4 <= lines <= 6  # one per 50 ms over 220 ms, not one per failure (~40)


async def test_an_unexpected_failure_keeps_its_traceback(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    runner = _failing(world, [RuntimeError("a bug")], runs=2)
    with caplog.at_level(logging.DEBUG, logger=background.__name__):
        await _loop(runner)
    (line,) = [r for r in caplog.records if r.name == background.__name__]
    assert line.getMessage() == "due_actions.failed"
    assert line.levelno == logging.ERROR
    assert line.exc_info is not None
