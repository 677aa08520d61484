"""Helpers for tests that run `nezuko run` as real processes (standby, several workers)."""

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

NEZUKO = Path(sys.executable).with_name("nezuko")
"""The installed console script (DESIGN §7: `.venv/bin/nezuko`)."""


def base_environment(token: str, api_url: str, database_url: str) -> dict[str, str]:
    """What every `nezuko run` of these tests is given: the sandbox, the database, JSON logs."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": api_url,
        "DATABASE_URL": database_url,
        "LOG_FORMAT": "json",
    }


async def start_nezuko(
    environ: Mapping[str, str], log: Path, cwd: Path
) -> asyncio.subprocess.Process:
    """Start `nezuko run` with `environ`, its output (stdout and stderr) into `log`."""
    with log.open("w") as sink:
        return await asyncio.create_subprocess_exec(
            str(NEZUKO), "run", env=dict(environ), cwd=cwd, stdout=sink, stderr=sink
        )


async def kill_all(processes: list[asyncio.subprocess.Process]) -> None:
    """SIGKILL every process still running, and reap it."""
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def status(port: str | int, path: str) -> int:
    """The HTTP status a process's server answers on `path` (127.0.0.1:`port`)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        return (await http.get(path)).status_code


def events(log: Path, prefix: str) -> list[str]:
    """The events of the JSON lines in `log` that start with `prefix`."""
    found: list[str] = []
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line).get("event", "")
        except json.JSONDecodeError:
            continue
        if str(event).startswith(prefix):
            found.append(str(event))
    return found


async def until(condition: Callable[[], object], timeout: float, logs: tuple[Path, ...]) -> None:  # noqa: ASYNC109
    """Wait for `condition()` (another process's doing: polled), or fail with the logs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("\n".join(log.read_text()[-3000:] for log in logs))
        await asyncio.sleep(0.1)
