"""Contract of the send budget shared by the bot's processes (issue 15).

Subclasses provide `budget(rates)`: a factory of `SendBudget`s with those rates on an empty
store (each test uses fresh chat keys, so a store shared between tests is fine as long as the
overall bucket starts afresh, with no refused send waiting in its lines: the factory resets
it). Time is real: the rates are fast, the waits short.
"""

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from application.ports.send_budget import Booking, BucketRate, Priority, SendBudget, SendRates

type BudgetFactory = Callable[[SendRates], Awaitable[SendBudget]]

_chats = itertools.count(1)
WIDE = BucketRate(1000, 1000.0)
"""A bucket that never limits the test."""
ANSWER, WARNING, NOTICE = Priority.ANSWER, Priority.WARNING, Priority.NOTICE
AT_ONCE = Booking(0.0, booked=True)


def _chat() -> str:
    return f"-100{next(_chats):09d}"


async def _asks_until_booked(shared: SendBudget, chat: str, priority: Priority) -> int:
    """How many times a send into `chat` asked until booked, each time when told to."""
    for asked in itertools.count(1):
        booking = await shared.book(chat, group=True, priority=priority)
        if booking.booked:
            return asked
        await asyncio.sleep(booking.wait + 0.001)
    raise AssertionError  # pragma: no cover (count() does not end)


class SendBudgetContract:
    """Behaviour every send budget shares."""

    async def test_a_chat_takes_its_burst_then_its_rate(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, WIDE, BucketRate(2, 10.0)))
        chat = _chat()
        booked = [await shared.book(chat, group=False, priority=ANSWER) for _ in range(3)]
        assert booked[:2] == [Booking(0.0, booked=True)] * 2
        assert not booked[2].booked  # the chat's own pace: ask again then
        assert 0.05 < booked[2].wait <= 0.1
        await asyncio.sleep(booked[2].wait + 0.01)
        assert await shared.book(chat, group=False, priority=ANSWER) == Booking(0.0, booked=True)
        assert await shared.book(_chat(), group=False, priority=ANSWER) == Booking(
            0.0, booked=True
        )

    async def test_a_group_has_its_own_bucket_too(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, BucketRate(3, 1.0), WIDE))
        chat = _chat()
        booked = [await shared.book(chat, group=True, priority=ANSWER) for _ in range(4)]
        assert all(b == Booking(0.0, booked=True) for b in booked[:3])
        assert not booked[3].booked
        assert 0.9 < booked[3].wait <= 1.0
        assert await shared.book(_chat(), group=True, priority=ANSWER) == Booking(0.0, booked=True)

    async def test_every_chat_books_in_the_overall_bucket(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(BucketRate(2, 1.0), WIDE, WIDE))
        booked = [await shared.book(_chat(), group=True, priority=ANSWER) for _ in range(4)]
        assert booked[:2] == [Booking(0.0, booked=True)] * 2
        assert booked[2].booked  # booked: it goes at its moment, one after the other
        assert booked[3].booked
        assert 0.9 < booked[2].wait <= 1.0
        assert 1.9 < booked[3].wait <= 2.0

    async def test_a_hold_keeps_every_send_out_of_the_chat(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(WIDE, WIDE, WIDE))
        chat = _chat()
        await shared.hold(chat, 0.5)
        held = await shared.book(chat, group=True, priority=ANSWER)
        assert not held.booked
        assert 0.4 < held.wait <= 0.5
        assert await shared.book(_chat(), group=True, priority=ANSWER) == Booking(0.0, booked=True)

    # --- the priorities, kept across processes ----------------------------------------------

    async def test_with_room_every_priority_books_at_once(self, budget: BudgetFactory) -> None:
        shared = await budget(SendRates(BucketRate(10, 10.0), BucketRate(5, 1.0), WIDE))
        group = _chat()
        assert [await shared.book(group, group=True, priority=p) for p in Priority] == [
            AT_ONCE
        ] * 3
        assert [await shared.book(_chat(), group=False, priority=p) for p in Priority] == [
            AT_ONCE
        ] * 3

    async def test_warnings_leave_the_overall_burst_s_last_send_to_answers(
        self, budget: BudgetFactory
    ) -> None:
        shared = await budget(SendRates(BucketRate(4, 10.0), WIDE, WIDE))
        warned = [await shared.book(_chat(), group=True, priority=WARNING) for _ in range(2)]
        assert warned == [AT_ONCE] * 2
        noticed = await shared.book(_chat(), group=True, priority=NOTICE)
        assert not noticed.booked  # two of the burst left: a notice leaves them both
        assert await shared.book(_chat(), group=True, priority=WARNING) == AT_ONCE
        refused = await shared.book(_chat(), group=True, priority=WARNING)
        assert not refused.booked  # one left: not for a warning; ask again when one is back
        assert 0.05 < refused.wait <= 0.1
        assert await shared.book(_chat(), group=True, priority=ANSWER) == AT_ONCE
        ahead = await shared.book(_chat(), group=True, priority=ANSWER)
        assert ahead.booked  # an answer books ahead, before every refused warning
        assert 0.05 < ahead.wait <= 0.1

    async def test_an_answer_into_a_group_flooded_with_warnings_goes_at_once(
        self, budget: BudgetFactory
    ) -> None:
        shared = await budget(SendRates(WIDE, BucketRate(3, 1.0), WIDE))
        group = _chat()
        warned = [await shared.book(group, group=True, priority=WARNING) for _ in range(3)]
        assert warned[:2] == [AT_ONCE] * 2
        assert not warned[2].booked  # the group's last send of its burst is the answers'
        assert 0.9 < warned[2].wait <= 1.0
        assert not (await shared.book(group, group=True, priority=NOTICE)).booked
        assert await shared.book(group, group=True, priority=ANSWER) == AT_ONCE
        full = await shared.book(group, group=True, priority=ANSWER)
        assert not full.booked  # the group's own pace, for answers too
        assert 0.9 < full.wait <= 1.0

    async def test_refused_warnings_ask_again_one_after_another_and_notices_after_them(
        self, budget: BudgetFactory
    ) -> None:
        shared = await budget(SendRates(BucketRate(2, 10.0), WIDE, WIDE))
        assert await shared.book(_chat(), group=True, priority=WARNING) == AT_ONCE
        warnings = [await shared.book(_chat(), group=True, priority=WARNING) for _ in range(3)]
        notices = [await shared.book(_chat(), group=True, priority=NOTICE) for _ in range(2)]
        assert not any(b.booked for b in warnings + notices)
        waits = [b.wait for b in warnings + notices]
        assert all(n * 0.1 - 0.05 < wait <= n * 0.1 for n, wait in enumerate(waits, start=1)), (
            waits
        )  # one a tenth of a second (the overall rate), the notices after the warnings
        assert await shared.book(_chat(), group=True, priority=ANSWER) == AT_ONCE

    async def test_a_notice_does_not_go_before_a_warning_an_answer_pushed_back(
        self, budget: BudgetFactory
    ) -> None:
        shared = await budget(SendRates(BucketRate(2, 5.0), WIDE, WIDE))
        warning, notice = _chat(), _chat()
        assert await shared.book(_chat(), group=True, priority=WARNING) == AT_ONCE
        first = await shared.book(warning, group=True, priority=WARNING)
        assert not first.booked
        assert await shared.book(_chat(), group=True, priority=ANSWER) == AT_ONCE
        noticed = await shared.book(notice, group=True, priority=NOTICE)
        assert not noticed.booked
        await asyncio.sleep(first.wait + 0.01)
        again = await shared.book(warning, group=True, priority=WARNING)
        assert not again.booked  # the answer took its moment: the next one
        await asyncio.sleep(max(noticed.wait - first.wait, again.wait) + 0.01)
        late = await shared.book(notice, group=True, priority=NOTICE)
        assert not late.booked  # the bucket has room, but a warning is still to ask again
        assert await shared.book(warning, group=True, priority=WARNING) == AT_ONCE
        await asyncio.sleep(late.wait + 0.01)
        assert await _asks_until_booked(shared, notice, NOTICE) <= 2  # the warnings are gone
