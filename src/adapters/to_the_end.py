"""Run a database call to its end even when its caller is cancelled.

A stop cancels the poller, the HTTP server closing cancels its requests; cutting a statement or
asyncpg's connect short leaves the connection to the garbage collector. `to_the_end` runs the
call in a task of its own that the caller's cancellation does not reach (`asyncio.shield`);
the task carries its caller's name, so whoever tells work apart by task name (the bench
counting the intake's database use apart from the updates') still sees whose work it is.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any

_running: set[asyncio.Task[Any]] = set()
"""The loop keeps only weak references to tasks: a call whose caller was cancelled is kept here
until it ends."""


async def to_the_end[T](call: Coroutine[Any, Any, T]) -> T:
    """Await `call`; if the caller is cancelled meanwhile, `call` still runs to its end."""
    caller = asyncio.current_task()
    name = caller.get_name() if caller is not None else None
    task = asyncio.create_task(call, name=name)  # noqa: TID251 — awaited, or kept in _running
    _running.add(task)
    task.add_done_callback(_running.discard)
    return await asyncio.shield(task)


async def all_ended(timeout: float) -> None:  # noqa: ASYNC109
    """Wait, at most `timeout` seconds, for the calls whose callers were cancelled to end.

    Before a pool is disposed of and the event loop closes: a call still running then would be
    cancelled by the loop's shutdown after all, leaving its connection to the garbage collector.
    """
    if _running:
        await asyncio.wait(set(_running), timeout=timeout)
