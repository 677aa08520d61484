"""Rules 10 and 14: a process killed with SIGKILL in the middle of the join gate's work leaves
no request unhandled once it is started again.

`nezuko run` runs as its own process against the Bot API sandbox (Telegram's flood limits on)
and a real PostgreSQL, with the gate on in the seeded group. Ten people who have not joined the
news channel ask to join and are told in private what to join; then they join it, and the
sandbox holds every approval (`HangFault`): the process is killed while it waits for them, so
Telegram never approved anyone. While it is down, five subscribers and five non-subscribers ask
to join too (Telegram keeps their updates). After the restart, within `AFTER_RESTART` seconds:
the ten and the five subscribers are members, the five others are told in private and held
pending in the database, and nothing was ever posted into the group for any of them.
"""

import asyncio
import os
import sys
import time
from pathlib import Path

from sqlalchemy import text

from adapters.postgres.embedded import free_port
from adapters.postgres.engine import create_engine
from telegram_sandbox import HangFault, Sandbox
from tests.integration.conftest import DatabaseFactory

NEZUKO = Path(sys.executable).with_name("nezuko")
JOINERS = tuple(range(500_001, 500_011))
"""Told in private, then join the channel while the approvals hang."""
SUBSCRIBERS_WHILE_DOWN = tuple(range(500_101, 500_106))
OTHERS_WHILE_DOWN = tuple(range(500_201, 500_206))
HELD = 120.0
"""Seconds the sandbox holds each approval before the kill (past the test)."""
AFTER_RESTART = 20.0
PATIENCE = 60.0


async def test_rule_14_kill_9_while_approving_then_a_restart_finishes_every_request(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    database = await database_factory()
    async with Sandbox.start() as sandbox:
        seeded = sandbox.seeded
        assert seeded is not None
        driver, calls, faults = sandbox.driver, sandbox.calls, sandbox.faults
        group, owner, news = seeded.group_id, seeded.owner_id, seeded.news_channel_id
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": sandbox.token,
            "TELEGRAM_API_URL": sandbox.root_url,
            "DATABASE_URL": database.runtime_url,
            "HTTP_PORT": str(free_port()),
            "LOG_FORMAT": "json",
        }

        def told(users: tuple[int, ...], since: int) -> set[int]:
            return {
                int(str(c.param("chat_id")))
                for c in calls.of("sendMessage", since=since)
                if c.status == 200 and c.param("chat_id") in users
            }

        first_log = tmp_path / "first.log"
        with first_log.open("w") as sink:
            first = await asyncio.create_subprocess_exec(
                str(NEZUKO), "run", env=environ, cwd=tmp_path, stdout=sink, stderr=sink
            )
            try:
                await sandbox.wait_for_poller(timeout=PATIENCE)
                for command, answer in (
                    ("/protect @nezuko_demo_news", "Protection is on"),
                    ("/settings join_gate on", "Changed"),
                ):
                    mark = calls.mark()
                    driver.say(group, owner, command)
                    await calls.wait_until(
                        lambda answer=answer, mark=mark: any(
                            answer in str(c.param("text"))
                            for c in calls.of("sendMessage", since=mark)
                        ),
                        timeout=PATIENCE,
                    )
                setup_done = calls.mark()
                for user in JOINERS:
                    driver.user(user, f"Joiner {user}")
                    driver.request_join(group, user)
                await sandbox.wait_until(
                    lambda: told(JOINERS, setup_done) == set(JOINERS), timeout=PATIENCE
                )

                faults.inject("approveChatJoinRequest", HangFault(HELD), times=1_000)
                for user in JOINERS:
                    driver.join(news, user)
                await sandbox.wait_until(
                    lambda: faults.pending("approveChatJoinRequest") <= 1_000 - len(JOINERS),
                    timeout=PATIENCE,
                )
                await asyncio.sleep(0.2)
                first.kill()
                await first.wait()
            finally:
                if first.returncode is None:
                    first.kill()
                    await first.wait()
        assert not any(driver.is_member(group, user) for user in JOINERS)
        assert await _held(database.superuser_url) == set(JOINERS)

        for user in SUBSCRIBERS_WHILE_DOWN:
            driver.user(user, f"Subscriber {user}")
            driver.join(news, user)
            driver.request_join(group, user)
        for user in OTHERS_WHILE_DOWN:
            driver.user(user, f"Other {user}")
            driver.request_join(group, user)
        faults.clear()
        restarted_mark = calls.mark()

        let_in = (*JOINERS, *SUBSCRIBERS_WHILE_DOWN)
        second_log = tmp_path / "second.log"
        with second_log.open("w") as sink:
            restarted = time.monotonic()
            second = await asyncio.create_subprocess_exec(
                str(NEZUKO), "run", env=environ, cwd=tmp_path, stdout=sink, stderr=sink
            )
            finished_after: float | None = None
            try:
                deadline = restarted + AFTER_RESTART
                while time.monotonic() < deadline:
                    members = all(driver.is_member(group, user) for user in let_in)
                    if (
                        members
                        and told(OTHERS_WHILE_DOWN, restarted_mark) == set(OTHERS_WHILE_DOWN)
                        and await _held(database.superuser_url) == set(OTHERS_WHILE_DOWN)
                    ):
                        finished_after = time.monotonic() - restarted
                        break
                    await asyncio.sleep(0.1)
                await sandbox.wait_delivered(timeout=PATIENCE)  # the joins reach the bot
                await asyncio.sleep(0.5)
            finally:
                second.kill()
                await second.wait()

    logs = first_log.read_text()[-2000:] + second_log.read_text()[-3000:]
    print(f"every request handled {finished_after} s after the restart")
    assert finished_after is not None, logs
    assert not any(driver.is_member(group, user) for user in OTHERS_WHILE_DOWN)
    everyone = (*let_in, *OTHERS_WHILE_DOWN)
    assert not any(driver.is_restricted(group, user) for user in everyone)
    into_group = [
        c for c in calls.of("sendMessage", since=setup_done) if c.param("chat_id") == group
    ]
    assert into_group == []


async def _held(superuser_url: str) -> set[int]:
    """The requesters the gate holds pending (any group)."""
    engine = create_engine(superuser_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT user_id FROM join_requests"))
            return {int(user) for (user,) in rows}
    finally:
        await engine.dispose()
