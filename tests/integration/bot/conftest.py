"""The whole bot (PTB, our handlers, PostgreSQL) against the Bot API sandbox, in process.

Every test that takes `story` runs twice: updates by long polling, and by webhook (the sandbox
POSTs each update to the bot's own HTTP server with the secret header).
"""

from collections.abc import AsyncIterator

import pytest

from adapters.telegram.rate_limiter import SendLimits
from tests.integration.conftest import DatabaseFactory
from tests.integration.http.conftest import Served, serving_bot

SPEEDUP = 30
"""Sends paced 30 times faster than Telegram allows: the sandbox's limits are off here, and
the pacing itself is proven in tests/integration/telegram/test_rate_limiter.py."""

Story = Served
"""A running bot, the sandbox it talks to (`sandbox`, `ids`) and the bot's clock."""


@pytest.fixture(params=["polling", "webhook"])
async def story(
    database_factory: DatabaseFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Story]:
    limits = SendLimits().scaled(SPEEDUP)
    webhook = request.param == "webhook"
    async with serving_bot(database_factory, webhook=webhook, send_limits=limits) as served:
        yield served
