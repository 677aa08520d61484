"""`to_the_end`: a call outlives its caller's cancellation and carries the caller's name."""

import asyncio
import contextlib

from adapters.to_the_end import all_ended, to_the_end


async def test_the_call_runs_to_its_end_when_the_caller_is_cancelled() -> None:
    finished = asyncio.Event()

    async def call() -> str:
        await asyncio.sleep(0.05)
        finished.set()
        return "done"

    caller = asyncio.create_task(to_the_end(call()), name="caller")
    await asyncio.sleep(0.01)
    caller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await caller
    assert caller.cancelled()
    await asyncio.wait_for(finished.wait(), timeout=1)


async def test_the_call_runs_in_a_task_named_after_its_caller() -> None:
    async def name() -> str:
        task = asyncio.current_task()
        assert task is not None
        return task.get_name()

    async def caller() -> tuple[str, str]:
        inner = await to_the_end(name())
        own = asyncio.current_task()
        assert own is not None
        return inner, own.get_name()

    inner, own = await asyncio.create_task(caller(), name="nezuko:polling")
    assert inner == own == "nezuko:polling"
    here = asyncio.current_task()
    assert here is not None
    assert await to_the_end(name()) == here.get_name()


async def test_all_ended_waits_for_the_calls_whose_callers_were_cancelled() -> None:
    finished = asyncio.Event()

    async def call() -> None:
        await asyncio.sleep(0.05)
        finished.set()

    caller = asyncio.create_task(to_the_end(call()))
    await asyncio.sleep(0.01)
    caller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await caller
    assert not finished.is_set()
    await all_ended(timeout=1)
    assert finished.is_set()
