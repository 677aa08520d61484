"""The shared send budget in PostgreSQL passes the contract of its memory twin (issue 15), and
two workers claiming at once never take more than the budget holds."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.send_budget import PostgresSendBudget
from application.ports.send_budget import BucketRate, SendBudget, SendRates
from tests.contracts.send_budget import WIDE, BudgetFactory, SendBudgetContract


class TestPostgresSendBudget(SendBudgetContract):
    @pytest.fixture
    def budget(self, runtime_engine: AsyncEngine) -> BudgetFactory:
        async def made(rates: SendRates) -> SendBudget:
            async with runtime_engine.begin() as connection:  # the overall bucket full again
                await connection.execute(
                    text("UPDATE send_budget SET chat_tokens = 1e9 WHERE chat = '*'")
                )
            return PostgresSendBudget(runtime_engine, rates)

        return made


async def test_two_workers_claiming_at_once_share_one_budget(runtime_engine: AsyncEngine) -> None:
    rates = SendRates(WIDE, BucketRate(5, 0.01), WIDE)
    workers = [PostgresSendBudget(runtime_engine, rates) for _ in range(2)]
    chat = "-1009999999001"

    async def claims(worker: PostgresSendBudget) -> list[float]:
        return [await worker.claim(chat, group=True, priority=1) for _ in range(10)]

    both = await asyncio.gather(*(claims(worker) for worker in workers))
    assert sum(wait == 0.0 for waits in both for wait in waits) == 5
