"""Cache invalidation across the bot's processes over PostgreSQL's LISTEN/NOTIFY (issue 15).

A process that changes something cached (`application.shared_caches`) publishes it with
`pg_notify` on the channel `nezuko_caches` (one statement on a pooled connection, committed at
once); every process LISTENs on a connection of its own, outside the pool
(`application_name` `nezuko:notifications`), and drops the entry named, within milliseconds.
Its own notifications come back to it too and are skipped (each process tags them with a random
origin).

PostgreSQL does not keep notifications for a listener that is not connected. So each time the
listening connection is (re)established every cache is dropped (whatever changed meanwhile was
missed), and while it is down (checked every second) every cache is dropped every second: no
process ever answers from an entry older than a second that it may not have heard about.

The listening session also identifies the process to the other workers: the intake journal
records its backend pid with each update taken (`session_pid`), so that when the process dies
(and PostgreSQL ends its sessions) another worker takes over what it had acknowledged.
"""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.invalidations import Cached, Invalidation, Invalidations
from domain.ids import ChannelId, GroupId, UserId

log = logging.getLogger(__name__)

CHANNEL = "nezuko_caches"
CHECK_EVERY = 1.0
"""Seconds between two checks that the listening connection still answers (and, while it is
down, between two attempts to reconnect, each dropping every cache)."""
TIMEOUT = 2.0
"""Seconds a connect, a check or a publish may take."""

type Apply = Callable[[Invalidation], Awaitable[None]]
type ForgetEverything = Callable[[], Awaitable[None]]


class PostgresInvalidations(Invalidations):
    """`Invalidations` as NOTIFY on `nezuko_caches`; `listen_forever` applies the others'."""

    def __init__(
        self, engine: AsyncEngine, check_every: float = CHECK_EVERY, timeout: float = TIMEOUT
    ) -> None:
        self._engine = engine
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._origin = uuid.uuid4().hex
        self._check_every = check_every
        self._timeout = timeout
        self.session_pid: int | None = None
        """The backend pid of the listening session while it is connected, else None."""
        self.listening = asyncio.Event()
        """Set while notifications are heard."""
        self._failed_at = float("-inf")

    async def publish(self, invalidation: Invalidation) -> None:
        payload = json.dumps(
            {
                "o": self._origin,
                "k": invalidation.cached.value,
                "g": invalidation.group_id,
                "c": invalidation.channel_id,
                "u": invalidation.user_id,
            },
            separators=(",", ":"),
        )
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection  # outside a transaction: sent at once
                await driver.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except Exception as error:  # best effort: the others' caches expire or are dropped
            now = time.monotonic()
            if now - self._failed_at >= 60.0:
                self._failed_at = now
                log.warning(
                    "invalidation.unpublished cached=%s error=%s",
                    invalidation.cached,
                    type(error).__name__,
                )

    async def listen_forever(self, apply: Apply, forget_everything: ForgetEverything) -> None:
        """Apply every invalidation another process publishes, reconnecting when cut off.

        `forget_everything` is called on every (re)connection and, while disconnected, every
        `check_every` seconds.
        """
        down_since: float | None = None
        while True:
            heard: asyncio.Queue[str] = asyncio.Queue()
            connection = await self._connect(heard)
            if connection is None:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning(
                        "notifications.down: caches are dropped every %s s until they are back",
                        self._check_every,
                    )
                await forget_everything()
                await asyncio.sleep(self._check_every)
                continue
            try:
                await forget_everything()  # whatever changed before now may have been missed
                self.listening.set()
                if down_since is not None:
                    log.info("notifications.back after=%.1fs", time.monotonic() - down_since)
                    down_since = None
                await self._hear(connection, heard, apply)
            except asyncio.CancelledError:
                self._close(connection)
                raise
            except Exception as error:
                log.warning("notifications.lost error=%s", type(error).__name__)
                down_since = time.monotonic()
                self._close(connection)

    async def _connect(self, heard: "asyncio.Queue[str]") -> Any:
        def on_notification(_connection: object, _pid: int, _channel: str, payload: str) -> None:
            heard.put_nowait(payload)

        connection: Any = None
        try:
            async with asyncio.timeout(self._timeout):
                driver: Any = cast(Any, asyncpg)  # untyped
                connection = await driver.connect(
                    self._dsn,
                    timeout=self._timeout,
                    server_settings={"application_name": "nezuko:notifications"},
                )
                await connection.add_listener(CHANNEL, on_notification)
        except Exception as error:
            log.debug("notifications.unavailable error=%s", type(error).__name__)
            if connection is not None:
                connection.terminate()
            return None
        self.session_pid = int(connection.get_server_pid())
        return connection

    async def _hear(self, connection: Any, heard: "asyncio.Queue[str]", apply: Apply) -> None:
        """Apply what is heard; check the connection whenever `check_every` passed."""
        checked = time.monotonic()
        while True:
            wait = checked + self._check_every - time.monotonic()
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        payload = await heard.get()
                except TimeoutError:
                    continue
                invalidation = self._parsed(payload)
                if invalidation is not None:
                    await apply(invalidation)
                continue
            async with asyncio.timeout(self._timeout):
                await connection.fetchval("SELECT 1")
            checked = time.monotonic()

    def _parsed(self, payload: str) -> Invalidation | None:
        """The invalidation another process published; None for this process's own."""
        try:
            fields = json.loads(payload)
            if fields.get("o") == self._origin:
                return None
            group, channel, user = fields.get("g"), fields.get("c"), fields.get("u")
            return Invalidation(
                Cached(fields["k"]),
                group_id=None if group is None else GroupId(int(group)),
                channel_id=None if channel is None else ChannelId(int(channel)),
                user_id=None if user is None else UserId(int(user)),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("notifications.malformed payload=%.200s", payload)
            return Invalidation(Cached.GROUP)  # applied as "drop everything"

    def _close(self, connection: Any) -> None:
        self.listening.clear()
        self.session_pid = None
        connection.terminate()
