"""The shared send budget in PostgreSQL passes the contract of its memory twin (issue 15), and
two workers booking at once never book one moment twice."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.send_budget import PostgresSendBudget
from application.ports.send_budget import BucketRate, Priority, SendBudget, SendRates
from tests.contracts.send_budget import WIDE, BudgetFactory, SendBudgetContract

FRESH = "UPDATE send_budget SET chat_at = 0, warnings_at = 0, notices_at = 0 WHERE chat = '*'"
"""The overall bucket full again, and no refused send waiting in its lines."""


class TestPostgresSendBudget(SendBudgetContract):
    @pytest.fixture
    def budget(self, runtime_engine: AsyncEngine) -> BudgetFactory:
        async def made(rates: SendRates) -> SendBudget:
            async with runtime_engine.begin() as connection:
                await connection.execute(text(FRESH))
            return PostgresSendBudget(runtime_engine, rates)

        return made


async def test_two_workers_booking_at_once_never_book_one_moment_twice(
    runtime_engine: AsyncEngine,
) -> None:
    async with runtime_engine.begin() as connection:
        await connection.execute(text(FRESH))
    rates = SendRates(BucketRate(5, 1.0), WIDE, WIDE)
    workers = [PostgresSendBudget(runtime_engine, rates) for _ in range(2)]

    async def bookings(worker: int) -> list[float]:
        chats = (f"-100999{worker}{n:06d}" for n in range(10))  # each into chats of its own
        return [
            (await workers[worker].book(chat, group=True, priority=Priority.ANSWER)).wait
            for chat in chats
        ]

    both = sorted(w for waits in await asyncio.gather(bookings(0), bookings(1)) for w in waits)
    assert both[:5] == [0.0] * 5  # the burst, then one a second, each moment booked once
    assert all(n - 4.3 < wait <= n - 4 for n, wait in enumerate(both[5:], start=5)), " ".join(
        f"{w:.3f}" for w in both
    )
