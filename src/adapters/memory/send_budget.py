"""`SendBudget` in process memory: the contract twin of the PostgreSQL budget.

A bot of one process needs no shared budget (its rate limiter's own pacing is the bot's); this
twin states the contract in plain Python, and the contract suite holds the SQL to it.
"""

import time
from collections.abc import Callable

import attrs

from application.ports.send_budget import SendBudget, SendRates


@attrs.define
class _Bucket:
    chat_tokens: float
    group_tokens: float
    stamp: float
    held_until: float = 0.0
    waiting_priority: int = 0
    waiting_until: float = 0.0


@attrs.define
class InMemorySendBudget(SendBudget):
    """Leaky buckets per chat and overall, as `claim_send()` keeps them in PostgreSQL."""

    rates: SendRates
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = attrs.Factory(dict[str, _Bucket])

    def _bucket(self, chat: str, now: float) -> _Bucket:
        if chat not in self._buckets:
            rates = self.rates
            if chat == "*":
                self._buckets[chat] = _Bucket(rates.overall.burst, 0.0, now)
            else:
                self._buckets[chat] = _Bucket(rates.per_chat.burst, rates.per_group.burst, now)
        return self._buckets[chat]

    async def claim(self, chat: str, *, group: bool, priority: int) -> float:
        now, rates = self.clock(), self.rates
        overall, bucket = self._bucket("*", now), self._bucket(chat, now)
        all_ = min(
            rates.overall.burst,
            overall.chat_tokens + max(now - overall.stamp, 0) * rates.overall.per_second,
        )
        elapsed = max(now - bucket.stamp, 0)
        chat_ = min(rates.per_chat.burst, bucket.chat_tokens + elapsed * rates.per_chat.per_second)
        group_ = min(
            rates.per_group.burst, bucket.group_tokens + elapsed * rates.per_group.per_second
        )
        wait = max(bucket.held_until - now, 0.0)
        if chat_ < 1:
            wait = max(wait, (1 - chat_) / rates.per_chat.per_second)
        if group and group_ < 1:
            wait = max(wait, (1 - group_) / rates.per_group.per_second)
        if all_ < 1:
            wait = max(wait, (1 - all_) / rates.overall.per_second)
        blocked = bucket.waiting_until > now and bucket.waiting_priority < priority
        if blocked and wait == 0:
            wait = 0.05
        overall.stamp = bucket.stamp = now
        if wait > 0:
            overall.chat_tokens, bucket.chat_tokens, bucket.group_tokens = all_, chat_, group_
            if not blocked:
                bucket.waiting_priority, bucket.waiting_until = priority, now + wait + 1
            return wait
        if bucket.waiting_priority == priority:
            bucket.waiting_until = 0.0
        overall.chat_tokens = all_ - 1
        bucket.chat_tokens = chat_ - 1
        bucket.group_tokens = group_ - 1 if group else group_
        return 0.0

    async def hold(self, chat: str, seconds: float) -> None:
        now = self.clock()
        bucket = self._bucket(chat, now)
        bucket.held_until = max(bucket.held_until, now + seconds)
