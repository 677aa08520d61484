"""The embedded default: no DATABASE_URL → a migrated PostgreSQL under NEZUKO_DATA_DIR."""

import asyncio
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.postgres.embedded import (
    FAST_SETTINGS,
    EmbeddedPostgres,
    embedded_server,
    provide_database,
)
from adapters.postgres.errors import DatabaseSetupError
from adapters.postgres.guard import open_runtime_engine, runtime_role_problems
from adapters.postgres.provisioning import DatabaseSpec, DatabaseUrls, provision_database
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.postgres.urls import InvalidDatabaseUrl, async_url, parse_url
from bootstrap.migrate_command import run_migrate
from bootstrap.settings import Settings
from nezuko.cli import main
from tests.factories import make_channel, make_policy, new_group
from tests.integration.conftest import ThrowawayDatabase


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """An empty NEZUKO_DATA_DIR outside pytest's private (0700) temporary tree."""
    directory = Path(tempfile.mkdtemp(prefix="nezuko-test-data-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _port_open(url: str) -> bool:
    parsed = parse_url(url)
    with socket.socket() as probe:
        return probe.connect_ex((str(parsed.host), int(parsed.port or 5432))) == 0


async def test_without_database_url_an_embedded_server_is_started_migrated_and_stopped(
    data_dir: Path,
) -> None:
    group = new_group()
    policy = make_policy(group, make_channel())
    async with provide_database(data_dir) as urls:
        assert urls.runtime.startswith("postgresql+asyncpg://nezuko_app:")
        assert urls.admin is not None
        assert urls.admin.startswith("postgresql+asyncpg://nezuko_owner:")
        engine = await open_runtime_engine(urls.runtime)  # the guard accepts the runtime role
        try:
            assert (await runtime_role_problems(engine))[1] == ()
            async with PostgresUnitOfWork(engine).begin(group) as tx:
                await tx.groups.save(policy)
                await tx.commit()
        finally:
            await engine.dispose()
        # A second process cannot start the same cluster meanwhile.
        with pytest.raises(DatabaseSetupError, match="in use by another process"):
            await asyncio.to_thread(embedded_server(data_dir).start)
    assert not _port_open(urls.runtime)

    credentials = data_dir / "postgres" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    pgdata = data_dir / "postgres" / "pgdata"
    assert stat.S_IMODE(pgdata.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        assert pgdata.stat().st_uid != 0  # the server ran as an unprivileged user

    # The second start reuses the cluster, the roles and the data.
    async with provide_database(data_dir) as again:
        assert again.runtime.split("@")[0] == urls.runtime.split("@")[0]
        engine = await open_runtime_engine(again.runtime)
        try:
            async with PostgresUnitOfWork(engine).begin(group) as tx:
                assert await tx.groups.get(group) == policy
        finally:
            await engine.dispose()


async def test_an_unreachable_data_dir_is_refused_clearly(data_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another user (printed reason: not root)")
    private = data_dir / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(DatabaseSetupError, match="cannot enter"):
        await asyncio.to_thread(EmbeddedPostgres(private / "postgres").start)
    (private / "bin").mkdir()
    hidden_programs = EmbeddedPostgres(data_dir / "postgres", bin_dir=private / "bin")
    with pytest.raises(DatabaseSetupError, match="cannot reach its programs"):
        await asyncio.to_thread(hidden_programs.start)


async def test_configured_urls_are_used_as_they_are() -> None:
    async with provide_database(
        Path("/nonexistent"),
        "postgres://app:secret@db.example:5433/nezuko",
        "postgresql://owner:secret@db.example:5433/nezuko",
    ) as urls:
        assert urls == DatabaseUrls(
            runtime="postgresql+asyncpg://app:secret@db.example:5433/nezuko",
            admin="postgresql+asyncpg://owner:secret@db.example:5433/nezuko",
        )


def test_urls_that_are_not_postgresql_are_refused_without_echoing_the_password() -> None:
    with pytest.raises(InvalidDatabaseUrl) as raised:
        async_url("mysql://user:hunter2@host/db")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(InvalidDatabaseUrl):
        async_url("not a url")


async def test_nezuko_migrate_with_admin_url_grants_the_runtime_role(
    test_database: ThrowawayDatabase,
) -> None:
    settings = Settings(
        database_admin_url=test_database.admin_url, database_url=test_database.runtime_url
    )
    assert await run_migrate(settings, "head", None) == 0


async def test_nezuko_migrate_explains_missing_configuration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await run_migrate(Settings(database_url="postgresql://a@h/d"), "head", None) == 2
    assert "set DATABASE_ADMIN_URL" in caplog.text
    assert await run_migrate(Settings(database_admin_url="postgresql://a@h/d"), "head", None) == 2
    assert "--runtime-role" in caplog.text


def test_nezuko_migrate_prepares_the_embedded_database(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(data_dir)  # no developer's .env
    for name in ("DATABASE_URL", "DATABASE_ADMIN_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEZUKO_DATA_DIR", str(data_dir))
    assert main(["migrate"]) == 0
    assert "is at head" in capsys.readouterr().err
    assert (data_dir / "postgres" / "pgdata" / "PG_VERSION").exists()


def test_nezuko_migrate_reports_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("DATABASE_ADMIN_URL", "postgresql://owner:pw@127.0.0.1:9/nezuko")
    monkeypatch.setenv("NEZUKO_RUNTIME_ROLE", "nezuko_app")
    monkeypatch.setenv("NEZUKO_STARTUP_TIMEOUT", "1")
    assert main(["migrate"]) == 3  # waited for it, as `nezuko run` does
    error = capsys.readouterr().err
    assert "cannot reach the database (database=nezuko host=127.0.0.1 port=9)" in error
    assert "pw@" not in error


def _alive(pid: int) -> bool:
    """Running (a zombie left unreaped by a container's init is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_server_left_running_by_a_crashed_process_is_taken_over(data_dir: Path) -> None:
    crashed = EmbeddedPostgres(data_dir / "postgres", settings=FAST_SETTINGS)
    crashed.start()
    leftover_url = crashed.superuser_url
    leftover_pid = int((crashed.pgdata / "postmaster.pid").read_text().split()[0])
    crashed._release_lock()  # pyright: ignore[reportPrivateUsage]  # the process "dies" here
    assert _port_open(leftover_url)

    successor = EmbeddedPostgres(data_dir / "postgres", settings=FAST_SETTINGS)
    successor.start()
    successor_url = successor.superuser_url
    try:
        assert not _alive(leftover_pid)  # the leftover was stopped...
        assert _port_open(successor_url)  # ...and a fresh server started
    finally:
        successor.stop()
    crashed.stop()  # already gone: counts as stopped
    assert not _port_open(successor_url)


async def test_provisioning_errors_never_show_passwords(test_database: ThrowawayDatabase) -> None:
    spec = DatabaseSpec.generate("nezuko_never", "nezuko_never_owner", "nezuko_never_app")
    # The runtime role may not create roles: the statement fails, and its text holds a password.
    with pytest.raises(DatabaseSetupError) as raised:
        await provision_database(test_database.runtime_url, spec)
    assert "permission denied" in str(raised.value)
    assert spec.owner_password not in str(raised.value)
    assert spec.runtime_password not in str(raised.value)
