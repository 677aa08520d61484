"""The whole bot (PTB, our handlers, PostgreSQL) against the Bot API sandbox, in process."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from adapters.telegram.sandbox import FloodLimits, Sandbox, SeededWorld
from application.ports.clock import Clock
from bootstrap.bot import running_bot
from bootstrap.settings import Settings
from tests.integration.conftest import DatabaseFactory


@attrs.define
class MovableClock(Clock):
    """The system clock, plus however far a test moved it forward."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


@attrs.frozen
class Story:
    """A running bot, the sandbox it talks to, and the bot's clock."""

    sandbox: Sandbox
    ids: SeededWorld
    clock: MovableClock


@pytest.fixture
async def story(database_factory: DatabaseFactory) -> AsyncIterator[Story]:
    database = await database_factory()
    async with Sandbox.start(limits=FloodLimits.off()) as sandbox:
        settings = Settings(bot_token=sandbox.token, api_url=sandbox.root_url.rstrip("/"))
        clock = MovableClock()
        async with running_bot(settings, {"DATABASE_URL": database.runtime_url}, clock=clock):
            await sandbox.wait_for_poller()
            seeded = sandbox.seeded
            assert seeded is not None
            yield Story(sandbox, seeded, clock)
