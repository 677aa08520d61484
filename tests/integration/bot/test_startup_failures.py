"""`nezuko run` fails to start in one line, with a documented exit code and no secret in sight.

Each test starts the installed `.venv/bin/nezuko run` as an operator would, with recognisable
secrets in every secret setting (token, database password, webhook secret, Sentry DSN) and
`LOG_FORMAT=json`, breaks one thing, and reads everything the process wrote to stdout and stderr
and everything it sent to Sentry (a local stand-in). A failure must be exactly one error line
(`run.failed`, a JSON object like every other line), no traceback, the exit code README
documents (2 configuration, 3 a dependency did not answer in time, 4 another process), and no
secret anywhere. A dependency that comes back within `NEZUKO_STARTUP_TIMEOUT` is picked up
without a restart, with `/ready` answering 503 meanwhile.
"""

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import attrs
import httpx
import pytest
from aiohttp import web
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.embedded import free_port
from adapters.postgres.urls import parse_url
from telegram_sandbox import Sandbox
from tests.integration.conftest import DatabaseFactory, ThrowawayDatabase

NEZUKO = Path(sys.executable).with_name("nezuko")

TOKEN = "7000000001:SECRETtokenNEZUKOabc123"
DB_PASSWORD = "SECRETdbPASSWORDhunter2"
WEBHOOK_SECRET = "SECRETwebhookVALUE_42"
SENTRY_KEY = "5ecre7sentrykey0123456789abcdef"
SECRETS = (TOKEN, TOKEN.split(":")[1], DB_PASSWORD, WEBHOOK_SECRET, SENTRY_KEY)
SHORT_WINDOW = "2"
"""`NEZUKO_STARTUP_TIMEOUT` where a test waits for the failure."""
NO_HURRY = {"NEZUKO_STARTUP_TIMEOUT": "30"}
"""Where the failure must come at once: waiting would not cure it."""

EXIT_CONFIG, EXIT_UNREACHABLE, EXIT_ANOTHER_INSTANCE = 2, 3, 4


@attrs.define
class SentryStandIn:
    """A local HTTP server that takes Sentry's envelopes (the DSN points at it)."""

    port: int
    bodies: list[str] = attrs.field(factory=list[str])

    @property
    def dsn(self) -> str:
        return f"http://{SENTRY_KEY}@127.0.0.1:{self.port}/1"

    async def take(self, request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp undoes the gzip
        self.bodies.append(body.decode(errors="replace"))
        return web.json_response({"id": "0" * 32})


@pytest.fixture
async def sentry() -> AsyncIterator[SentryStandIn]:
    stand_in = SentryStandIn(free_port())
    app = web.Application()
    app.router.add_post("/api/1/envelope/", stand_in.take)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", stand_in.port).start()
    try:
        yield stand_in
    finally:
        await runner.cleanup()


@attrs.frozen
class Run:
    """A finished `nezuko run`."""

    code: int
    output: str
    seconds: float

    @property
    def lines(self) -> list[dict[str, object]]:
        """Every line written, each of which must be one JSON object."""
        parsed: list[dict[str, object]] = []
        for written in self.output.splitlines():
            try:
                line = json.loads(written)
            except json.JSONDecodeError:
                pytest.fail(f"not a JSON line: {written!r}\n{self.output}")
            assert isinstance(line, dict), written
            parsed.append(line)  # pyright: ignore[reportUnknownArgumentType]
        return parsed

    def failure(self) -> str:
        """The one error line's event, after checking everything else about the output."""
        assert "Traceback" not in self.output, self.output
        errors = [line for line in self.lines if line["level"] in ("error", "critical")]
        assert len(errors) == 1, self.output
        event = str(errors[0]["event"])
        assert event.startswith(f"run.failed exit_code={self.code} reason="), self.output
        assert "\n" not in event
        return event


def environment(sentry: SentryStandIn, **overrides: str) -> dict[str, str]:
    """`nezuko run`'s environment: every secret set, JSON logs, a short start-up window."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        "DATABASE_URL": f"postgresql://nezuko_app:{DB_PASSWORD}@127.0.0.1:{free_port()}/nezuko",
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SENTRY_DSN": sentry.dsn,
        "HTTP_PORT": str(free_port()),
        "LOG_FORMAT": "json",
        "NEZUKO_STARTUP_TIMEOUT": SHORT_WINDOW,
        **overrides,
    }


@contextlib.asynccontextmanager
async def started(
    cwd: Path, env: dict[str, str], *arguments: str
) -> AsyncGenerator[asyncio.subprocess.Process]:
    """`nezuko run` writing to `cwd/nezuko.log`; stopped by SIGTERM on leaving if still running."""
    with (cwd / "nezuko.log").open("w") as sink:
        process = await asyncio.create_subprocess_exec(
            str(NEZUKO), "run", *arguments, env=env, cwd=cwd, stdout=sink, stderr=sink
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)


async def run(cwd: Path, env: dict[str, str], *arguments: str) -> Run:
    """`nezuko run` until it exits on its own (within a minute)."""
    began = time.monotonic()
    async with started(cwd, env, *arguments) as process:
        code = await asyncio.wait_for(process.wait(), timeout=60)
    return Run(code, (cwd / "nezuko.log").read_text(), time.monotonic() - began)


def assert_no_secret(output: str, sentry: SentryStandIn) -> None:
    """No secret in the output, nor in what reached Sentry (whose own key it may carry)."""
    for secret in SECRETS:
        assert secret not in output, f"{secret!r} leaked:\n{output}"
    for body in sentry.bodies:
        for secret in SECRETS[:-1]:
            assert secret not in body, f"{secret!r} reached Sentry:\n{body}"


async def ready_status(port: str) -> int | None:
    """`/ready`'s status code, or None when nothing answers."""
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            return (await http.get("/ready")).status_code
    except httpx.TransportError:
        return None


async def until_ready_answers(port: str, deadline: float = 20.0) -> int:
    """The first status `/ready` answers with, once the HTTP server is up."""
    async with asyncio.timeout(deadline):
        while (status := await ready_status(port)) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # another process: nothing here to wait on
    return status


def with_password(url: str, **parts: str) -> str:
    """`url` (a throw-away database's) with the test's recognisable password and `parts`."""
    return (
        parse_url(url)
        .set(password=DB_PASSWORD, **parts)  # pyright: ignore[reportArgumentType]
        .render_as_string(hide_password=False)
    )


# --- the database ----------------------------------------------------------------------------


async def test_an_unreachable_database_is_one_line_and_exit_3_after_the_window(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    env = environment(sentry)
    async with started(tmp_path, env) as process:
        assert await until_ready_answers(env["HTTP_PORT"]) == 503  # not ready while it waits
        code = await asyncio.wait_for(process.wait(), timeout=30)
    result = Run(code, (tmp_path / "nezuko.log").read_text(), 0)
    assert result.code == EXIT_UNREACHABLE
    event = result.failure()
    assert "cannot reach the database (database=nezuko host=127.0.0.1" in event
    assert "waited 2 s: start PostgreSQL, or fix DATABASE_URL's host and port" in event
    waits = [line for line in result.lines if str(line["event"]).startswith("startup.waiting")]
    assert len(waits) == 1  # one warning, then the retries at DEBUG
    assert_no_secret(result.output, sentry)
    assert sentry.bodies  # the failure was reported, scrubbed
    assert any("run.failed" in body for body in sentry.bodies)


async def test_a_missing_role_is_one_line_and_exit_2(
    test_database: ThrowawayDatabase, sentry: SentryStandIn, tmp_path: Path
) -> None:
    url = with_password(test_database.runtime_url, username="nezuko_no_such_role")
    result = await run(tmp_path, environment(sentry, DATABASE_URL=url, **NO_HURRY))
    assert result.code == EXIT_CONFIG, result.output
    event = result.failure()
    assert "the database refused DATABASE_URL's role" in event
    assert "create the role, or fix DATABASE_URL's user and password" in event
    assert result.seconds < 15  # waiting would not help, so it did not wait
    assert_no_secret(result.output, sentry)


async def test_a_missing_database_is_one_line_and_exit_2(
    database_factory: DatabaseFactory, sentry: SentryStandIn, tmp_path: Path
) -> None:
    database = await database_factory(revision=None)
    runtime = parse_url(database.runtime_url)
    await _set_password(database, str(runtime.username))  # the role exists: only the db is wrong
    url = with_password(database.runtime_url, database="nezuko_no_such_database")
    result = await run(tmp_path, environment(sentry, DATABASE_URL=url, **NO_HURRY))
    assert result.code == EXIT_CONFIG, result.output
    assert result.seconds < 15
    event = result.failure()
    assert "the database does not exist (database=nezuko_no_such_database" in event
    assert "create it and run `nezuko migrate`" in event
    assert_no_secret(result.output, sentry)


async def test_an_unmigrated_schema_says_to_run_nezuko_migrate(
    database_factory: DatabaseFactory, sentry: SentryStandIn, tmp_path: Path
) -> None:
    database = await database_factory(revision=None)
    await _set_password(database, str(parse_url(database.runtime_url).username))
    env = environment(sentry, DATABASE_URL=with_password(database.runtime_url), **NO_HURRY)
    result = await run(tmp_path, env)
    assert result.code == EXIT_CONFIG, result.output
    assert result.seconds < 15
    event = result.failure()
    assert "the database schema is not migrated (missing tables: groups" in event
    assert "run `nezuko migrate` with DATABASE_ADMIN_URL" in event
    assert "refusing to run as database role" not in event  # the role is not the problem
    assert_no_secret(result.output, sentry)


async def test_the_embedded_database_in_use_is_one_line_and_exit_4(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "postgres").mkdir(parents=True)
    with (data_dir / "postgres" / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `nezuko` would
        env = environment(sentry, NEZUKO_DATA_DIR=str(data_dir))
        del env["DATABASE_URL"]
        result = await run(tmp_path, env)
    assert result.code == EXIT_ANOTHER_INSTANCE, result.output
    event = result.failure()
    assert "is in use by another process: stop the other `nezuko` process, or set " in event
    assert "NEZUKO_DATA_DIR to another directory" in event
    assert_no_secret(result.output, sentry)


async def test_a_database_that_comes_back_within_the_window_is_picked_up(
    database_factory: DatabaseFactory, sentry: SentryStandIn, tmp_path: Path
) -> None:
    database = await database_factory()
    runtime = parse_url(database.runtime_url)
    port = free_port()
    await _set_password(database, str(runtime.username))
    url = with_password(database.runtime_url, port=port)  # pyright: ignore[reportArgumentType]
    async with Sandbox.start(token=TOKEN) as sandbox:
        env = environment(
            sentry,
            DATABASE_URL=url,
            TELEGRAM_API_URL=sandbox.root_url,
            NEZUKO_STARTUP_TIMEOUT="30",
        )
        del env["WEBHOOK_URL"], env["WEBHOOK_SECRET"]
        async with (
            contextlib.AsyncExitStack() as database_back,  # closed after the process
            started(tmp_path, env) as process,
        ):
            assert await until_ready_answers(env["HTTP_PORT"]) == 503
            await asyncio.sleep(1.5)
            target = (str(runtime.host), int(runtime.port or 5432))
            await database_back.enter_async_context(_forwarding(port, *target))
            await sandbox.wait_for_poller(timeout=30)
            assert await ready_status(env["HTTP_PORT"]) == 200
            assert process.returncode is None
        output = (tmp_path / "nezuko.log").read_text()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert_no_secret(output, sentry)


# --- Telegram --------------------------------------------------------------------------------


async def test_an_unreachable_bot_api_is_one_line_and_exit_3_after_the_window(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    result = await run(tmp_path, environment(sentry), "--memory")
    assert result.code == EXIT_UNREACHABLE, result.output
    event = result.failure()
    assert "cannot reach the Telegram Bot API at http://127.0.0.1:" in event
    assert "waited 2 s: check the network" in event
    assert result.seconds >= 2  # it waited, and did not give up after a retry or two
    assert_no_secret(result.output, sentry)


async def test_a_wrong_token_is_one_line_and_exit_2_and_never_printed(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    async with Sandbox.start() as sandbox:  # it accepts another token than ours
        env = environment(sentry, TELEGRAM_API_URL=sandbox.root_url)
        result = await run(tmp_path, env, "--memory")
    assert result.code == EXIT_CONFIG, result.output
    event = result.failure()
    assert f"Telegram rejected TELEGRAM_BOT_TOKEN ({env['TELEGRAM_API_URL']} answered " in event
    assert "set the token @BotFather gave you" in event
    assert_no_secret(result.output, sentry)


async def test_a_bot_api_that_comes_back_within_the_window_is_picked_up(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(
        sentry, TELEGRAM_API_URL=f"http://127.0.0.1:{port}", NEZUKO_STARTUP_TIMEOUT="30"
    )
    del env["WEBHOOK_URL"], env["WEBHOOK_SECRET"]
    async with started(tmp_path, env, "--memory") as process:
        assert await until_ready_answers(env["HTTP_PORT"]) == 503
        await asyncio.sleep(1.5)
        async with Sandbox.start(token=TOKEN, port=port) as sandbox:
            await sandbox.wait_for_poller(timeout=30)
            assert await ready_status(env["HTTP_PORT"]) == 200
            assert process.returncode is None
    output = (tmp_path / "nezuko.log").read_text()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert_no_secret(output, sentry)


async def test_two_instances_polling_one_token_one_gives_up_in_one_line_with_exit_4(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    async with Sandbox.start(token=TOKEN) as sandbox:
        env = environment(
            sentry, TELEGRAM_API_URL=sandbox.root_url, NEZUKO_STARTUP_TIMEOUT=SHORT_WINDOW
        )
        del env["WEBHOOK_URL"], env["WEBHOOK_SECRET"]
        async with started(first, env, "--memory") as one:
            await sandbox.wait_for_poller(timeout=30)
            env = env | {"HTTP_PORT": str(free_port())}
            async with started(second, env, "--memory") as other:
                done, _ = await asyncio.wait(
                    [asyncio.ensure_future(one.wait()), asyncio.ensure_future(other.wait())],
                    timeout=30,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                assert len(done) == 1, "exactly one of the two gives up"
                loser, winner = (first, second) if one.returncode is not None else (second, first)
                await asyncio.sleep(2)  # the other one keeps polling, alone now
                await sandbox.wait_for_poller(timeout=15)
                assert (one.returncode is None) != (other.returncode is None)
        gave_up = Run(
            one.returncode if loser is first else other.returncode,  # pyright: ignore[reportArgumentType]
            (loser / "nezuko.log").read_text(),
            0,
        )
        kept = (winner / "nezuko.log").read_text()
    assert gave_up.code == EXIT_ANOTHER_INSTANCE, gave_up.output
    event = gave_up.failure()
    assert "another process is polling Telegram with this bot's token" in event
    assert "run one `nezuko run` per token" in event
    conflicts = [e for e in gave_up.lines if str(e["event"]).startswith("polling.conflict")]
    assert len(conflicts) == 1  # one warning for the series; the rest at DEBUG
    assert (one.returncode if winner is first else other.returncode) == 0, kept
    assert "Traceback" not in kept
    assert_no_secret(gave_up.output + kept, sentry)


# --- helpers ---------------------------------------------------------------------------------


# --- nezuko migrate ---------------------------------------------------------------------------


async def migrate(cwd: Path, env: dict[str, str]) -> Run:
    """`nezuko migrate` until it exits (within a minute), its output read as `Run`'s."""
    began = time.monotonic()
    with (cwd / "migrate.log").open("w") as sink:
        process = await asyncio.create_subprocess_exec(
            str(NEZUKO), "migrate", env=env, cwd=cwd, stdout=sink, stderr=sink
        )
        code = await asyncio.wait_for(process.wait(), timeout=60)
    return Run(code, (cwd / "migrate.log").read_text(), time.monotonic() - began)


def migrate_failure(result: Run) -> str:
    """`nezuko migrate`'s one error line, after checking the rest of the output."""
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.lines if line["level"] in ("error", "critical")]
    assert len(errors) == 1, result.output
    event = str(errors[0]["event"])
    assert event.startswith(f"migrate.failed exit_code={result.code} reason="), result.output
    return event


async def test_nezuko_migrate_waits_for_an_unreachable_database_then_exits_3_in_one_line(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    env = environment(sentry)
    admin = f"postgresql://nezuko_owner:{DB_PASSWORD}@127.0.0.1:{free_port()}/nezuko"
    result = await migrate(tmp_path, {**env, "DATABASE_ADMIN_URL": admin})
    assert result.code == EXIT_UNREACHABLE, result.output
    event = migrate_failure(result)
    assert "cannot reach the database (database=nezuko host=127.0.0.1" in event
    assert "waited 2 s: start PostgreSQL, or fix DATABASE_ADMIN_URL's host and port" in event
    assert_no_secret(result.output, sentry)


async def test_nezuko_migrate_with_a_wrong_admin_password_is_one_line_and_exit_2(
    test_database: ThrowawayDatabase, sentry: SentryStandIn, tmp_path: Path
) -> None:
    admin = with_password(test_database.admin_url)  # not the owner's password
    env = {**environment(sentry, **NO_HURRY), "DATABASE_ADMIN_URL": admin}
    result = await migrate(tmp_path, env)
    assert result.code == EXIT_CONFIG, result.output
    assert result.seconds < 15  # waiting would not help, so it did not wait
    event = migrate_failure(result)
    assert "fix DATABASE_ADMIN_URL's user, password or database name" in event
    assert_no_secret(result.output, sentry)


async def _set_password(database: ThrowawayDatabase, role: str) -> None:
    """Give `role` the test's recognisable password (the factory made up its own)."""
    engine = create_async_engine(database.superuser_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"ALTER ROLE {role} PASSWORD '{DB_PASSWORD}'"))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _forwarding(port: int, host: str, target: int) -> AsyncGenerator[None]:
    """Forward 127.0.0.1:`port` to `host:target` (the database "comes back" at `port`)."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, target)
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(connect, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        server.close_clients()
