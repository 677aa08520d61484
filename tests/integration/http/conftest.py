"""The whole bot with its HTTP server: in webhook mode (the sandbox POSTs to it) or polling.

Each fixture starts the Bot API sandbox, a throw-away PostgreSQL database and `running_bot()`
with the HTTP server on a free loopback port, and hands the test an httpx client for it.
"""

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import attrs
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.postgres.embedded import free_port
from adapters.system_clock import MovableClock
from adapters.telegram.rate_limiter import SendLimits
from bootstrap.bot import running_bot
from bootstrap.settings import Settings
from telegram_sandbox import FloodLimits, Sandbox, SeededWorld
from tests.integration.conftest import DatabaseFactory

SECRET = "nezuko-webhook-test_secret-0123456789"
WEBHOOK_PATH = "/telegram/webhook"


@attrs.frozen
class Served:
    """A running bot with its HTTP server, the sandbox it talks to and a client for the server."""

    sandbox: Sandbox
    ids: SeededWorld
    clock: MovableClock
    http: httpx.AsyncClient
    settings: Settings

    @property
    def webhook_url(self) -> str:
        """Where the sandbox posts updates."""
        return f"http://127.0.0.1:{self.settings.http_port}{WEBHOOK_PATH}"


type Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@contextlib.asynccontextmanager
async def serving_bot(
    database_factory: DatabaseFactory, *, webhook: bool, send_limits: SendLimits | None = None
) -> AsyncGenerator[Served]:
    """The bot with its HTTP server, in webhook or polling mode, for as long as the block runs.

    `send_limits` replaces Telegram's pacing (the sandbox's flood limits are off here).
    """
    database = await database_factory()
    # A short retry delay: a refused delivery is tried again within the test's patience.
    async with Sandbox.start(limits=FloodLimits.off(), webhook_retry_delay=0.05) as sandbox:
        port = free_port()
        settings = Settings(
            bot_token=sandbox.token,
            api_url=sandbox.root_url.rstrip("/"),
            http_port=port,
            webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}" if webhook else None,
            webhook_secret=SECRET if webhook else None,
            database_url=database.runtime_url,
        )
        clock = MovableClock()
        async with (
            running_bot(settings, clock=clock, serve_http=True, send_limits=send_limits),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http,
        ):
            if not webhook:
                await sandbox.wait_for_poller()
            seeded = sandbox.seeded
            assert seeded is not None
            yield Served(sandbox, seeded, clock, http, settings)


@pytest.fixture
async def webhook_bot(database_factory: DatabaseFactory) -> AsyncIterator[Served]:
    """The bot in webhook mode: the sandbox POSTs every update to its HTTP server."""
    async with serving_bot(database_factory, webhook=True) as served:
        yield served


@pytest.fixture
async def polling_bot(database_factory: DatabaseFactory) -> AsyncIterator[Served]:
    """The bot in long-polling mode, with its HTTP server (probes and metrics) running."""
    async with serving_bot(database_factory, webhook=False) as served:
        yield served


async def scrape(http: httpx.AsyncClient) -> Samples:
    """Every sample of `/metrics`, keyed by name and sorted labels."""
    response = await http.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
