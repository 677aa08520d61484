"""Contract of the send budget shared by the bot's processes (issue 15).

Subclasses provide `budget(rates)`: a factory of `SendBudget`s with those rates on an empty
store (each test uses fresh chat keys, so a store shared between tests is fine as long as the
overall bucket starts afresh: the factory resets it). Time is real: the rates are fast, the
waits short.
"""

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from application.ports.send_budget import Booking, BucketRate, SendBudget, SendRates

type BudgetFactory = Callable[[SendRates], Awaitable[SendBudget]]

_chats = itertools.count(1)
WIDE = BucketRate(1000, 1000.0)
"""A bucket that never limits the test."""


def _chat() -> str:
    return f"-100{next(_chats):09d}"


class SendBudgetContract:
    """Behaviour every send budget shares."""

    async def test_a_chat_takes_its_burst_then_its_rate(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, WIDE, BucketRate(2, 10.0)))
        chat = _chat()
        booked = [await shared.book(chat, group=False) for _ in range(3)]
        assert booked[:2] == [Booking(0.0, booked=True)] * 2
        assert not booked[2].booked  # the chat's own pace: ask again then
        assert 0.05 < booked[2].wait <= 0.1
        await asyncio.sleep(booked[2].wait + 0.01)
        assert await shared.book(chat, group=False) == Booking(0.0, booked=True)
        assert await shared.book(_chat(), group=False) == Booking(0.0, booked=True)

    async def test_a_group_has_its_own_bucket_too(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, BucketRate(3, 1.0), WIDE))
        chat = _chat()
        booked = [await shared.book(chat, group=True) for _ in range(4)]
        assert all(b == Booking(0.0, booked=True) for b in booked[:3])
        assert not booked[3].booked
        assert 0.9 < booked[3].wait <= 1.0
        assert await shared.book(_chat(), group=True) == Booking(0.0, booked=True)

    async def test_every_chat_books_in_the_overall_bucket(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(BucketRate(2, 1.0), WIDE, WIDE))
        booked = [await shared.book(_chat(), group=True) for _ in range(4)]
        assert booked[:2] == [Booking(0.0, booked=True)] * 2
        assert booked[2].booked  # booked: it goes at its moment, one after the other
        assert booked[3].booked
        assert 0.9 < booked[2].wait <= 1.0
        assert 1.9 < booked[3].wait <= 2.0

    async def test_a_hold_keeps_every_send_out_of_the_chat(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, WIDE, WIDE))
        chat = _chat()
        await shared.hold(chat, 0.5)
        held = await shared.book(chat, group=True)
        assert not held.booked
        assert 0.4 < held.wait <= 0.5
        assert await shared.book(_chat(), group=True) == Booking(0.0, booked=True)
