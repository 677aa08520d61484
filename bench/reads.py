"""Reads are not paced: getChatMember on one channel through our rate limiter and PTB's stock one.

PTB's `AIORateLimiter` puts every call with a negative chat id into the 20-per-minute group
bucket (DESIGN §4), so membership checks would crawl; ours paces only what Telegram limits.
"""

import asyncio
import contextlib
import time
from typing import Any

import attrs
from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot

from adapters.telegram.rate_limiter import TelegramRateLimiter
from telegram_sandbox import Sandbox

CALLS = 100
BUDGET = 5.0
"""Seconds each limiter gets for the calls."""


@attrs.frozen
class Reads:
    """How many of the calls one limiter let through, and in how long."""

    done: int
    seconds: float


async def through(
    sandbox: Sandbox, limiter: BaseRateLimiter[Any], budget: float = BUDGET
) -> Reads:
    """`CALLS` getChatMember calls on one channel, or as many as fit in `budget` seconds."""
    seeded = sandbox.seeded
    assert seeded is not None  # Sandbox.start() seeds by default
    bot: ExtBot[Any] = ExtBot(
        sandbox.token, base_url=f"{sandbox.root_url.rstrip('/')}/bot", rate_limiter=limiter
    )
    done = 0
    async with bot:
        started = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(budget):
                for _ in range(CALLS):
                    await bot.get_chat_member(seeded.news_channel_id, seeded.bob_id)
                    done += 1
        return Reads(done, time.perf_counter() - started)


async def compare(budget: float = BUDGET) -> tuple[Reads, Reads]:
    """Ours, then PTB's `AIORateLimiter`, against one sandbox."""
    async with Sandbox.start() as sandbox:
        ours = await through(sandbox, TelegramRateLimiter(), budget)
        stock = await through(sandbox, AIORateLimiter(), budget)
    return ours, stock
