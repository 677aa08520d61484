"""Fixtures for driving the sandbox with python-telegram-bot's real client over real HTTP."""

import os

# PTB reads this when a duration is accessed; with it, RetryAfter.retry_after is a timedelta
# and no deprecation warning is raised (filterwarnings = error).
os.environ["PTB_TIMEDELTA"] = "true"

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from telegram_sandbox import FloodLimits, Sandbox, SeededWorld

type App = Application[Any, Any, Any, Any, Any, Any]


class Received:
    """Every update a PTB Application handled, with a wait for tests."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self._changed = asyncio.Event()

    async def handle(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert isinstance(update, Update)
        self.updates.append(update)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, where: Callable[[Update], bool], timeout: float = 3.0) -> Update:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                for update in self.updates:
                    if where(update):
                        return update
                await self._changed.wait()

    def kinds(self) -> list[str]:
        """The type of each update, in order (e.g. "message", "chat_member")."""
        out: list[str] = []
        for update in self.updates:
            data = update.to_dict()
            out.append(next(k for k in data if k != "update_id"))
        return out


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A seeded sandbox with flood limits off (limit tests start their own)."""
    async with Sandbox.start(limits=FloodLimits.off(), webhook_retry_delay=0.05) as running:
        yield running


@pytest.fixture
def ids(sandbox: Sandbox) -> SeededWorld:
    """Ids of the seeded world."""
    assert sandbox.seeded is not None
    return sandbox.seeded


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    """A PTB Bot pointed at the sandbox, initialized (it has called getMe)."""
    async with Bot(sandbox.token, base_url=sandbox.base_url) as client:
        yield client


def build_app(sandbox: Sandbox, *, polling: bool = True) -> App:
    """A PTB Application pointed at the sandbox (without an Updater when not polling)."""
    builder = ApplicationBuilder().token(sandbox.token).base_url(sandbox.base_url)
    if not polling:
        builder = builder.updater(None)
    return builder.build()  # pyright: ignore[reportReturnType]


@contextlib.asynccontextmanager
async def polling_app(
    sandbox: Sandbox, allowed_updates: Sequence[str] | None
) -> AsyncGenerator[tuple[App, Received]]:
    """A started PTB Application polling the sandbox, recording every update it handles.

    It yields once the first getUpdates arrived, so `allowed_updates` is in force.
    """
    received = Received()
    app = build_app(sandbox)
    app.add_handler(TypeHandler(Update, received.handle))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0,
            timeout=dt.timedelta(seconds=1),
            allowed_updates=allowed_updates,
        )
        await sandbox.wait_for_poller()
        try:
            yield app, received
        finally:
            await app.updater.stop()
            await app.stop()


@pytest.fixture
def app_factory(
    sandbox: Sandbox,
) -> Callable[
    [Sequence[str] | None], contextlib.AbstractAsyncContextManager[tuple[App, Received]]
]:
    """Start a polling Application with the given allowed_updates: `async with factory([...])`."""

    def factory(
        allowed: Sequence[str] | None,
    ) -> contextlib.AbstractAsyncContextManager[tuple[App, Received]]:
        return polling_app(sandbox, allowed)

    return factory
