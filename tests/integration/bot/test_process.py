"""End to end: `nezuko run` as its own process, configured by environment only, plays the story.

The test starts the Bot API sandbox in this process and `.venv/bin/nezuko run` beside it with
`TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL` and `DATABASE_URL` only; then SIGTERM must stop it
cleanly.
"""

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

from adapters.telegram.sandbox import Sandbox
from bootstrap.demo import tell_story
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
                assert story.passed == 13
            finally:
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=30)
        output = log.read_text()
        assert code == 0, output
        assert sandbox.token not in output  # the token never reaches the logs
