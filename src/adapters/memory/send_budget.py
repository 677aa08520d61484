"""`SendBudget` in process memory: the contract twin of the PostgreSQL budget.

A bot of one process needs no shared budget (its rate limiter's own pacing is the bot's); this
twin states the contract in plain Python, and the contract suite holds the SQL to it.
"""

import time
from collections.abc import Callable

import attrs

from application.ports.send_budget import Booking, Priority, SendBudget, SendRates


@attrs.define
class _Bucket:
    chat_at: float = 0.0
    group_at: float = 0.0
    held_until: float = 0.0
    warnings_at: float = 0.0
    """Overall bucket only: the next moment a refused warning is told to ask again."""
    notices_at: float = 0.0
    """Overall bucket only: the same for a refused notice."""


@attrs.define
class InMemorySendBudget(SendBudget):
    """GCRA bookings per chat and overall, as `book_send()` keeps them in PostgreSQL."""

    rates: SendRates
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = attrs.Factory(dict[str, _Bucket])

    async def book(self, chat: str, *, group: bool, priority: Priority) -> Booking:
        now, rates = self.clock(), self.rates
        overall = self._buckets.setdefault("*", _Bucket())
        bucket = self._buckets.setdefault(chat, _Bucket())
        every, per_chat, per_group = rates.overall, rates.per_chat, rates.per_group
        free_at = max(
            now,
            bucket.held_until,
            bucket.chat_at - (per_chat.burst - 1) / per_chat.per_second,
            bucket.group_at
            - (_kept_in_group(per_group.burst, priority) - 1) / per_group.per_second
            if group
            else 0.0,
        )
        if free_at > now:
            return Booking(free_at - now, booked=False)
        at = max(
            now,
            overall.chat_at - (_kept(every.burst, priority) - 1) / every.per_second,
            overall.warnings_at if priority is Priority.NOTICE else 0.0,  # none waits behind
        )
        if at > now and priority is not Priority.ANSWER:  # only answers book ahead
            again = max(at, overall.warnings_at)
            if priority is Priority.WARNING:
                overall.warnings_at = again + 1 / every.per_second
            else:
                again = max(again, overall.notices_at)
                overall.notices_at = again + 1 / every.per_second
            return Booking(again - now, booked=False)
        overall.chat_at = max(overall.chat_at, at) + 1 / every.per_second
        bucket.chat_at = max(bucket.chat_at, at) + 1 / per_chat.per_second
        if group:
            bucket.group_at = max(bucket.group_at, at) + 1 / per_group.per_second
        return Booking(at - now, booked=True)

    async def hold(self, chat: str, seconds: float) -> None:
        bucket = self._buckets.setdefault(chat, _Bucket())
        bucket.held_until = max(bucket.held_until, self.clock() + seconds)


def _kept_in_group(burst: float, priority: Priority) -> float:
    """The part of a group's burst a send of `priority` may use: all but one but for answers."""
    return max(burst - min(priority, 1), 1.0)


def _kept(burst: float, priority: Priority) -> float:
    """The part of a bucket's burst a send of `priority` may use.

    All but `priority` sends (kept free for the higher priorities), and at least one.
    """
    return max(burst - priority, 1.0)
