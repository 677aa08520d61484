"""Contract of the send budget shared by the bot's processes (issue 15).

Subclasses provide `budget(rates)`: a factory of `SendBudget`s with those rates on an empty
store (each test uses fresh chat keys, so a store shared between tests is fine as long as the
overall bucket's rates are those of the test: the factory resets it). Time is real: the rates
are fast, the waits short.
"""

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from application.ports.send_budget import BucketRate, SendBudget, SendRates

type BudgetFactory = Callable[[SendRates], Awaitable[SendBudget]]

_chats = itertools.count(1)
WIDE = BucketRate(1000, 1000.0)
"""A bucket that never limits the test."""


def _chat() -> str:
    return f"-100{next(_chats):09d}"


class SendBudgetContract:
    """Behaviour every send budget shares."""

    async def test_a_chat_takes_its_burst_then_waits_its_rate(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, WIDE, BucketRate(2, 10.0)))
        chat = _chat()
        taken = [await shared.claim(chat, group=False, priority=1) for _ in range(2)]
        wait = await shared.claim(chat, group=False, priority=1)
        assert taken == [0.0, 0.0]
        assert 0.05 < wait <= 0.1
        await asyncio.sleep(wait + 0.01)
        assert await shared.claim(chat, group=False, priority=1) == 0.0
        assert await shared.claim(_chat(), group=False, priority=1) == 0.0  # another chat

    async def test_a_group_has_its_own_bucket_too(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, BucketRate(3, 1.0), WIDE))
        chat = _chat()
        for _ in range(3):
            assert await shared.claim(chat, group=True, priority=1) == 0.0
        assert 0.9 < await shared.claim(chat, group=True, priority=1) <= 1.0
        assert await shared.claim(chat, group=False, priority=1) == 0.0  # a private chat

    async def test_every_chat_shares_the_overall_bucket(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(BucketRate(2, 1.0), WIDE, WIDE))
        assert await shared.claim(_chat(), group=False, priority=1) == 0.0
        assert await shared.claim(_chat(), group=False, priority=1) == 0.0
        assert 0.9 < await shared.claim(_chat(), group=False, priority=1) <= 1.0

    async def test_a_hold_keeps_every_send_out_of_the_chat(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, WIDE, WIDE))
        chat = _chat()
        await shared.hold(chat, 0.5)
        assert 0.4 < await shared.claim(chat, group=True, priority=0) <= 0.5
        assert await shared.claim(_chat(), group=True, priority=0) == 0.0

    async def test_a_waiting_answer_goes_before_a_warning(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, WIDE, BucketRate(1, 10.0)))
        chat = _chat()
        assert await shared.claim(chat, group=False, priority=1) == 0.0
        wait = await shared.claim(chat, group=False, priority=0)  # an answer waits
        assert wait > 0
        await asyncio.sleep(wait + 0.01)
        assert await shared.claim(chat, group=False, priority=1) > 0  # the warning waits more
        assert await shared.claim(chat, group=False, priority=0) == 0.0
        await asyncio.sleep(0.11)
        assert await shared.claim(chat, group=False, priority=1) == 0.0
