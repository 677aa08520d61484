"""End to end: `nezuko run` as its own process, configured by environment only, plays the story.

The test starts the Bot API sandbox in this process and `.venv/bin/nezuko run` beside it with
`TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL` and `DATABASE_URL` only; then SIGTERM must stop it
cleanly.
"""

import asyncio
import io
import json
import os
import signal
import sys
from pathlib import Path

import httpx

from adapters.postgres.embedded import free_port
from adapters.postgres.urls import describe_url
from application.audit_trail import EVENT_NAMES
from bootstrap.version import installed_version
from demo.story import tell_story
from telegram_sandbox import Sandbox
from tests.integration.conftest import DatabaseFactory

NEZUKO = Path(sys.executable).with_name("nezuko")


async def test_nezuko_run_serves_the_story_and_stops_on_sigterm(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    database = await database_factory()
    async with Sandbox.start() as sandbox:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": sandbox.token,
            "TELEGRAM_API_URL": sandbox.root_url,
            "DATABASE_URL": database.runtime_url,
            "LOG_FORMAT": "json",
        }
        log = tmp_path / "nezuko.log"
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                str(NEZUKO), "run", env=environ, cwd=tmp_path, stdout=sink, stderr=sink
            )
            try:
                await sandbox.wait_for_poller(timeout=30)
                out = io.StringIO()
                story = await tell_story(sandbox, None, out)
                assert story.failed == 0, out.getvalue() + log.read_text()
                assert story.passed == 23
                seeded = sandbox.seeded
                assert seeded is not None
                # every log line of an update carries its id, tenant and user
                erin = sandbox.driver.user(1099, "Erin").id
                sandbox.driver.request_join(seeded.private_channel_id, erin)
                await sandbox.wait_until(lambda: _log_line(log, "join_request", erin) is not None)
                line = _log_line(log, "join_request", erin)
                assert line is not None
                assert line["tenant"] == seeded.private_channel_id
                assert line["user"] == erin
                assert isinstance(line["update_id"], int)
            finally:
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=30)
        output = log.read_text()
        assert code == 0, output
        assert sandbox.token not in output  # the token never reaches the logs
        _assert_actions_logged(output, sandbox, database.runtime_url)


def _assert_actions_logged(output: str, sandbox: Sandbox, database_url: str) -> None:
    """Issue 14: one INFO line per action, every value its own field, no line per message."""
    lines = [json.loads(t) for t in output.splitlines() if t.startswith("{")]
    info = [line for line in lines if line["level"] == "info"]
    seeded = sandbox.seeded
    assert seeded is not None
    [started] = [line for line in info if line["event"] == "bot.started"]
    assert started["bot"] == f"@{sandbox.config.bot_username}"
    assert started["version"] == installed_version()
    assert started["mode"] == "polling"
    assert started["database"] == describe_url(database_url)
    assert "password" not in output
    muted = [line for line in info if line["event"] == "member.muted"]
    assert muted, output
    for line in muted:
        assert line["group"] == seeded.group_id
        assert isinstance(line["user"], int)
        assert isinstance(line["missing"], list), line
        assert line["missing"], line
        assert all(isinstance(channel, int) for channel in line["missing"])
    events = {line["event"] for line in info}
    assert {"member.unmuted", "warning.sent", "group.protected"} <= events, events
    # Nothing per message: every INFO line of the bot's own is an action, a routine loop that
    # did something, or the process starting and stopping.
    own = {line["event"] for line in info if line["logger"].split(".")[0] in _OWN_LOGGERS}
    routine = {
        "bot.started",
        "database.configured",
        "http.listening",
        "due_actions.ran",
        "join_request",
        "polling.confirmed",
        "polling.active",
    }
    actions = {*EVENT_NAMES.values(), "warning.merged", "warning.stale_deleted", "notice.sent"}
    assert own <= actions | routine, own - actions - routine


_OWN_LOGGERS = frozenset({"domain", "application", "adapters", "bootstrap", "nezuko"})


def _log_line(log: Path, event: str, user: int | None = None) -> dict[str, object] | None:
    """The first JSON log line whose event starts with `event` (about `user`, if given), if the
    process wrote one."""
    for text in log.read_text().splitlines():
        if text.startswith("{"):
            line: dict[str, object] = json.loads(text)
            if str(line.get("event", "")).startswith(event) and user in (None, line.get("user")):
                return line
    return None


async def test_nezuko_run_memory_needs_no_database_and_still_enforces(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with Sandbox.start() as sandbox:
        port = free_port()
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": sandbox.token,
            "TELEGRAM_API_URL": sandbox.root_url,
            "NEZUKO_DATA_DIR": str(data_dir),
            "HTTP_PORT": str(port),
        }
        log = tmp_path / "nezuko.log"
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                str(NEZUKO), "run", "--memory", env=environ, cwd=tmp_path, stdout=sink, stderr=sink
            )
            try:
                await sandbox.wait_for_poller(timeout=30)
                seeded = sandbox.seeded
                assert seeded is not None
                driver, calls = sandbox.driver, sandbox.calls
                driver.say(seeded.group_id, seeded.owner_id, "/protect @nezuko_demo_news")
                reply = await calls.wait_for("sendMessage", timeout=10)
                assert "Protection is on" in str(reply.param("text")), log.read_text()
                driver.say(seeded.group_id, seeded.carol_id, "hello")
                await sandbox.wait_until(
                    lambda: driver.is_restricted(seeded.group_id, seeded.carol_id), timeout=10
                )
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    assert (await http.get("/ready")).status_code == 200
            finally:
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=30)
        output = log.read_text()
        assert code == 0, output
        assert "memory_mode" in output
        assert not data_dir.exists()  # no embedded database was started
