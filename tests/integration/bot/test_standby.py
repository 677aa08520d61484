"""Issue 15: a second `nezuko run` polling with the same token and database stands by.

Two real `nezuko run` processes poll the Bot API sandbox with one token, on one PostgreSQL
database. The first serves; the second stands by (one log line, `/ready` 503, `/health` 200)
instead of fighting over getUpdates. The first is killed with SIGKILL while it is handling the
messages of a few members (their restrictChatMember held by the sandbox: taken, kept in the
journal, confirmed to Telegram, not handled), and more members speak while nobody polls. The
second takes over within seconds, handles what the dead one left in the journal and what
Telegram kept meanwhile: every member who is not subscribed is muted and every message of
theirs deleted, none lost (rule 10). A process whose lock connection is cut (what a database
outage does) stops polling, and polls again once it holds the lock again.
"""

import asyncio
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.postgres.embedded import free_ports
from adapters.postgres.engine import create_engine
from telegram_sandbox import HangFault, Member, Sandbox, Status
from tests.integration.bot.processes import (
    NEZUKO,
    base_environment,
    events,
    status,
    until,
)
from tests.integration.conftest import DatabaseFactory, ThrowawayDatabase
from tests.integration.http.conftest import serving_bot

HELD = 120.0
"""Seconds the sandbox holds the restrictions the first process is making when killed."""
HELD_MEMBERS = tuple(range(700_001, 700_004))
"""Members whose messages the first process has taken, and not handled, when it is killed."""
LATER_MEMBERS = tuple(range(700_004, 700_031))
"""Members who speak while no process polls."""
TAKEOVER = 10.0
"""Seconds from the kill within which every message must be handled by the standby."""
PATIENCE = 60.0


async def test_rule_10_a_standby_takes_over_from_a_killed_poller_and_loses_no_update(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    database = await database_factory()
    async with Sandbox.start() as sandbox:
        seeded = sandbox.seeded
        assert seeded is not None
        driver, calls, faults = sandbox.driver, sandbox.calls, sandbox.faults
        group, owner = seeded.group_id, seeded.owner_id
        environ = base_environment(sandbox.token, sandbox.root_url, database.runtime_url)
        ports = tuple(str(port) for port in free_ports(2))
        logs = (tmp_path / "first.log", tmp_path / "second.log")
        processes: list[asyncio.subprocess.Process] = []
        try:
            for port, log in zip(ports, logs, strict=True):
                with log.open("w") as sink:
                    processes.append(
                        await asyncio.create_subprocess_exec(
                            str(NEZUKO),
                            "run",
                            env=environ | {"HTTP_PORT": port},
                            cwd=tmp_path,
                            stdout=sink,
                            stderr=sink,
                        )
                    )
                if len(processes) == 1:  # the second starts once the first polls
                    await sandbox.wait_for_poller(timeout=PATIENCE)
            first = processes[0]

            await until(lambda: events(logs[1], "polling.standby"), PATIENCE, logs)
            assert await status(ports[0], "/ready") == 200
            assert await status(ports[1], "/ready") == 503
            assert await status(ports[1], "/health") == 200
            mark = calls.mark()
            driver.say(group, owner, "/protect @nezuko_demo_news")
            await calls.wait_until(
                lambda: any(
                    "Protection is on" in str(c.param("text"))
                    for c in calls.of("sendMessage", since=mark)
                ),
                timeout=PATIENCE,
            )

            said: dict[int, int] = {}
            faults.inject("restrictChatMember", HangFault(HELD), times=len(HELD_MEMBERS))
            for member in HELD_MEMBERS + LATER_MEMBERS:
                driver.user(member, f"Member {member}")
                driver.place(group, Member(member, Status.MEMBER))
            for member in HELD_MEMBERS:
                said[member] = driver.say(group, member, "hello").message_id
            await sandbox.wait_until(
                lambda: faults.pending("restrictChatMember") == 0, timeout=PATIENCE
            )
            await sandbox.wait_delivered(timeout=PATIENCE)  # confirmed: only the journal has them
            first.kill()
            await first.wait()
            killed = time.monotonic()
            for member in LATER_MEMBERS:
                said[member] = driver.say(group, member, "hello").message_id

            def handled() -> bool:
                return all(
                    driver.is_restricted(group, member) and driver.message(group, id_) is None
                    for member, id_ in said.items()
                )

            await sandbox.wait_until(handled, timeout=PATIENCE)
            took = time.monotonic() - killed
            assert await status(ports[1], "/ready") == 200
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()

    standby = events(logs[1], "polling.standby")
    assert len(standby) == 1, standby  # one line while standing by, not one per attempt
    assert events(logs[1], "polling.active")
    leftovers = events(logs[1], "bot.leftovers")  # the held ones, maybe one handled unmarked
    assert len(leftovers) == 1, leftovers
    assert int(leftovers[0].removeprefix("bot.leftovers updates=")) >= len(HELD_MEMBERS)
    for log in logs:  # they never fought over getUpdates
        assert not events(log, "polling.conflict"), log.read_text()[-3000:]
    assert took <= TAKEOVER, f"took over and handled everything {took:.1f} s after the kill"


async def test_a_poller_that_loses_its_lock_stops_polling_then_takes_the_lock_back(
    database_factory: DatabaseFactory, caplog: pytest.LogCaptureFixture
) -> None:
    databases: list[ThrowawayDatabase] = []

    async def recorded(*, revision: str | None = "head") -> ThrowawayDatabase:
        databases.append(database := await database_factory(revision=revision))
        return database

    caplog.set_level(logging.INFO, logger="adapters.telegram.polling")
    async with serving_bot(recorded, webhook=False) as served:
        sandbox, ids = served.sandbox, served.ids
        assert (await served.http.get("/ready")).status_code == 200
        engine = create_engine(databases[0].superuser_url, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as connection:  # what a database outage does to it
                ended = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'nezuko:polling-lock'"
                    )
                )
        finally:
            await engine.dispose()
        assert ended == 1

        def said(prefix: str) -> int:
            return sum(r.getMessage().startswith(prefix) for r in caplog.records)

        await sandbox.wait_until(lambda: said("polling.lock_lost") == 1, timeout=PATIENCE)
        await sandbox.wait_until(lambda: said("polling.active") == 2, timeout=PATIENCE)
        assert (await served.http.get("/ready")).status_code == 200
        mark = sandbox.calls.mark()
        sandbox.driver.say(ids.group_id, ids.owner_id, "/protect @nezuko_demo_news")
        await sandbox.calls.wait_for("sendMessage", since=mark, timeout=PATIENCE)
        member = 700_100
        sandbox.driver.user(member, "Member")
        sandbox.driver.place(ids.group_id, Member(member, Status.MEMBER))
        said_id = sandbox.driver.say(ids.group_id, member, "hello").message_id
        await sandbox.wait_until(
            lambda: (
                sandbox.driver.is_restricted(ids.group_id, member)
                and sandbox.driver.message(ids.group_id, said_id) is None
            ),
            timeout=PATIENCE,
        )
    assert said("polling.standby") <= 1  # the lock was free again at once, or within a second
