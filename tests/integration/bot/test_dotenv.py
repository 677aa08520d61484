"""`.env` alone configures `nezuko run` and `nezuko migrate`; the environment overrides it.

Each test runs the installed `.venv/bin/nezuko` in a fresh working directory holding only a
`.env` file, with nothing but PATH in the environment (unless the test overrides a value), and
checks which database the command really used.
"""

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.embedded import free_port
from adapters.postgres.migrations import alembic_config
from adapters.postgres.urls import parse_url
from telegram_sandbox import Sandbox
from tests.integration.conftest import DatabaseFactory, ThrowawayDatabase

NEZUKO = Path(sys.executable).with_name("nezuko")
UNREACHABLE_ADMIN_URL = "postgresql://owner:dotenv-pw@127.0.0.1:9/nowhere"


def _write_dotenv(directory: Path, **values: str) -> None:
    (directory / ".env").write_text("".join(f"{name}={value}\n" for name, value in values.items()))


def _environment(**overrides: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), **overrides}


async def _nezuko(cwd: Path, *arguments: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(NEZUKO),
        *arguments,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _schema_revision(database: ThrowawayDatabase) -> str | None:
    engine = create_async_engine(database.admin_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(text("SELECT to_regclass('public.alembic_version')"))
            if exists is None:
                return None
            return await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _password(url: str) -> str:
    password = parse_url(url).password
    assert password
    return password


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """An empty NEZUKO_DATA_DIR outside pytest's private (0700) temporary tree."""
    directory = Path(tempfile.mkdtemp(prefix="nezuko-test-dotenv-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


async def test_nezuko_migrate_takes_both_database_urls_from_dotenv(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    database = await database_factory(revision=None)  # empty: the migration has work to do
    _write_dotenv(
        tmp_path, DATABASE_ADMIN_URL=database.admin_url, DATABASE_URL=database.runtime_url
    )
    code, out, err = await _nezuko(tmp_path, "migrate", env=_environment())
    assert code == 0, out + err
    assert f"database={database.spec.name}" in err  # it says which database it migrated
    assert f"runtime role {database.spec.runtime!r} granted" in err  # DATABASE_URL's user
    assert await _schema_revision(database) == _head()
    assert not (tmp_path / ".nezuko").exists()  # no embedded database instead
    for url in (database.admin_url, database.runtime_url):
        assert _password(url) not in out + err


async def test_the_environment_overrides_dotenv_for_nezuko_migrate(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    database = await database_factory(revision=None)
    # .env names an unreachable owner; the environment's DATABASE_ADMIN_URL wins. The runtime
    # role still comes from .env (DATABASE_URL's user).
    _write_dotenv(
        tmp_path, DATABASE_ADMIN_URL=UNREACHABLE_ADMIN_URL, DATABASE_URL=database.runtime_url
    )
    environment = _environment(DATABASE_ADMIN_URL=database.admin_url)
    code, out, err = await _nezuko(tmp_path, "migrate", env=environment)
    assert code == 0, out + err
    assert f"database={database.spec.name}" in err  # the migrate.done log line
    assert f"runtime role {database.spec.runtime!r} granted" in err
    assert await _schema_revision(database) == _head()


async def test_nezuko_migrate_prepares_the_embedded_database_in_the_dotenv_data_dir(
    data_dir: Path, tmp_path: Path
) -> None:
    _write_dotenv(tmp_path, NEZUKO_DATA_DIR=str(data_dir))
    code, out, err = await _nezuko(tmp_path, "migrate", env=_environment())
    assert code == 0, out + err
    assert f"embedded database under {data_dir} is at head" in err
    assert (data_dir / "postgres" / "pgdata" / "PG_VERSION").exists()
    assert not (tmp_path / ".nezuko").exists()


async def test_nezuko_run_takes_its_database_from_dotenv(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    database = await database_factory()
    unused_data_dir = tmp_path / "data"
    async with Sandbox.start() as sandbox:
        port = free_port()
        _write_dotenv(
            tmp_path,
            TELEGRAM_BOT_TOKEN=sandbox.token,
            TELEGRAM_API_URL=sandbox.root_url,
            DATABASE_URL=database.runtime_url,
            DATABASE_ADMIN_URL=database.admin_url,
            NEZUKO_DATA_DIR=str(unused_data_dir),
            HTTP_PORT=str(port),
            LOG_FORMAT="json",
        )
        log = tmp_path / "nezuko.log"
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                str(NEZUKO), "run", env=_environment(), cwd=tmp_path, stdout=sink, stderr=sink
            )
            try:
                await sandbox.wait_for_poller(timeout=30)
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    assert (await http.get("/ready")).status_code == 200, log.read_text()
            finally:
                if process.returncode is None:  # else it failed on its own: the log says why
                    process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=30)
        output = log.read_text()
        assert code == 0, output
        runtime = parse_url(database.runtime_url)
        configured = [
            line
            for line in (json.loads(t) for t in output.splitlines() if t.startswith("{"))
            if line["event"] == "database.configured"
        ]
        assert [line["database"] for line in configured] == [
            f"database={database.spec.name} host={runtime.host} port={runtime.port}"
        ], output
        assert not unused_data_dir.exists()  # no embedded database was started
        assert not (tmp_path / ".nezuko").exists()
        for url in (database.admin_url, database.runtime_url):
            assert _password(url) not in output
        assert sandbox.token not in output
