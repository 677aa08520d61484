"""Outgoing rate limiting: pace what Telegram limits, retry what Telegram asks to retry.

Telegram limits *messages sent into chats* (Bot FAQ): about 30 a second overall, 20 a minute into
one group or channel, and about one a second sustained into one chat. It does not document such
limits for reads (getChatMember, getChat, getChatAdministrators) or moderation calls, and a
membership-enforcement bot makes those far more often than it sends; PTB's stock
`AIORateLimiter` puts every call with a negative chat id in the 20-a-minute bucket, which caps
membership checks per channel at 20 a minute (DESIGN §4). So this limiter paces sends only and
lets every other call straight through; any call that still meets a 429 waits exactly
`retry_after` and is tried again, holding back only what Telegram limited: the sends into that
chat, or that method's calls into that chat.

Every attempt is counted by method and outcome (`nezuko_bot_api_calls_total`), and every 429
once more with the wait it asked for (`nezuko_bot_api_flood_waits_total`); getUpdates never
passes a rate limiter, so long polls are not counted.
"""

import asyncio
import contextlib
import datetime as dt
import heapq
import itertools
import logging
import warnings
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, cast, override

import attrs
from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from adapters.metrics import (
    BOT_API_CALLS,
    BOT_API_FLOOD_SECONDS,
    BOT_API_FLOODS,
    SEND_QUEUE,
    SEND_WAIT,
)
from adapters.telegram.error_translation import retry_after_seconds
from application.errors import StorageError
from application.ports.send_budget import BucketRate, Priority, SendBudget, SendRates

log = logging.getLogger(__name__)

type JSONDict = dict[str, Any]
type ApiResult = bool | JSONDict | list[JSONDict]
type ApiCall = Callable[..., Coroutine[Any, Any, ApiResult]]
type ChatKey = int | str | None

_ALSO_SENDS = frozenset({"forwardmessage", "forwardmessages", "copymessage", "copymessages"})
_NOT_SENDS = frozenset({"sendchataction"})
_SAFE_TO_REPEAT_PREFIXES = (
    "get",
    "restrict",
    "ban",
    "unban",
    "delete",
    "set",
    "answer",
    "approvechatjoinrequest",
    "declinechatjoinrequest",
)
"""Calls whose repetition changes nothing (reads, moderation, deletions, settings, ending a
join request: done twice, the second finds no request)."""


def is_send(endpoint: str) -> bool:
    """Whether the call posts a new message into a chat (what Telegram's flood limits count).

    Every `send*` method except sendChatAction, and forwarding or copying messages.
    """
    name = endpoint.lower()
    return (name.startswith("send") and name not in _NOT_SENDS) or name in _ALSO_SENDS


def is_safe_to_repeat(endpoint: str) -> bool:
    """Whether a call that timed out may be made again without doing its work twice.

    A call that timed out may still have taken effect (Telegram just answered late). Repeating
    a read or a restriction is harmless; repeating a send would post a second warning that
    nothing ever deletes, and repeating createChatInviteLink would make a second link.
    """
    name = endpoint.lower()
    return not is_send(name) and name.startswith(_SAFE_TO_REPEAT_PREFIXES)


@attrs.frozen
class Pace:
    """A leaky bucket: up to `burst` sends at once, then `per_second` sustained.

    In any window of `w` seconds it lets through at most `burst + per_second * w` sends.
    """

    burst: int
    per_second: float

    @classmethod
    def within(cls, limit: int, window: float, *, burst: int, spare: int = 1) -> "Pace":
        """At most `limit` sends in any `window` seconds, `burst` of them back to back.

        Telegram counts its limits over sliding windows, so a bucket that refills at
        `limit / window` would let `2 * limit` through in the first window; the sustained rate
        is what is left after the burst. `spare` sends per window stay unused, so requests
        that reach Telegram a little later or earlier than they left (network jitter) still
        fit in the window.
        """
        if not 0 < burst < limit - spare:
            raise ValueError(f"burst must be between 1 and {limit - spare - 1}")
        return cls(burst, (limit - burst - spare) / window)

    def scaled(self, speedup: float) -> "Pace":
        """The same pace with time running `speedup` times faster (for tests and benchmarks)."""
        return attrs.evolve(self, per_second=self.per_second * speedup)

    def limiter(self) -> AsyncLimiter:
        """A fresh aiolimiter bucket with this pace."""
        return AsyncLimiter(self.burst, self.burst / self.per_second)

    def rate(self) -> BucketRate:
        """The same bucket, for a send budget shared by several processes."""
        return BucketRate(self.burst, self.per_second)


OVERALL = Pace.within(30, 1.0, burst=5)
"""Telegram: about 30 messages a second, all chats together."""
PER_GROUP = Pace.within(20, 60.0, burst=5)
"""Telegram: 20 messages a minute into one group or channel."""
PER_CHAT = Pace(burst=2, per_second=1.0)
"""Telegram: about one message a second into one chat, short bursts tolerated (we use 2)."""


@attrs.frozen
class SendLimits:
    """How fast the bot sends messages.

    The defaults keep inside Telegram's documented limits with one send to spare: at most 29
    sends in any second (a burst of 5, then 24 a second), at most 19 into one group or channel
    in any minute (a burst of 5, then one every 4.3 s), and one a second into one chat after a
    burst of 2 (Telegram tolerates "short bursts" of unstated size).

    Attributes:
        overall: All sends together.
        per_group: Sends into one group, supergroup or channel (negative or @username chat ids).
        per_chat: Sends into any one chat, private chats included.
    """

    overall: Pace = OVERALL
    per_group: Pace = PER_GROUP
    per_chat: Pace = PER_CHAT

    def scaled(self, speedup: float) -> "SendLimits":
        """Every pace with time running `speedup` times faster."""
        return SendLimits(
            self.overall.scaled(speedup),
            self.per_group.scaled(speedup),
            self.per_chat.scaled(speedup),
        )

    def rates(self) -> SendRates:
        """The same limits, for a send budget shared by several processes."""
        return SendRates(self.overall.rate(), self.per_group.rate(), self.per_chat.rate())


@attrs.frozen
class RetryPolicy:
    """How failed calls are tried again.

    Attributes:
        flood_retries: Retries after a 429, each after exactly its `retry_after`.
        max_wait: The longest `retry_after` (seconds) worth waiting for; a longer one fails the
            call at once, and so do later calls into that chat until the wait is over.
        network_retries: Retries after a network error, a 5xx or a timeout.
        backoff: Seconds before the first network retry; doubled for each further one.
        max_backoff: The longest pause between network retries.
    """

    flood_retries: int = 3
    max_wait: float = 60.0
    network_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 5.0

    def pause(self, failures: int) -> float:
        """Seconds to wait before network retry number `failures` (from 1)."""
        return min(self.max_backoff, self.backoff * 2 ** (failures - 1))


@attrs.frozen
class CallOptions:
    """What a caller may pass as `rate_limit_args` (a bare int still sets the 429 retries)."""

    priority: Priority = Priority.ANSWER
    flood_retries: int | None = None


type RateLimitArgs = int | CallOptions
"""What this limiter takes as `rate_limit_args` (the `ExtBot` type parameter)."""


class _PriorityGate:
    """Per chat, one send at a time waits for the chat's pace, the highest priority first.

    Among the waiting sends the next is the one of the highest priority (then the earliest), so
    an answer waits behind at most the one warning already being paced, not every queued one.
    """

    def __init__(self) -> None:
        self._busy: set[ChatKey] = set()
        self._waiting: dict[ChatKey, list[tuple[int, int, asyncio.Future[None]]]] = {}
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self, chat: ChatKey, priority: Priority) -> AsyncGenerator[None]:
        """Hold the chat's turn for a send of `priority` while the block paces it."""
        if chat in self._busy:
            handed = asyncio.get_running_loop().create_future()
            heapq.heappush(
                self._waiting.setdefault(chat, []), (priority, next(self._order), handed)
            )
            try:
                await handed
            except asyncio.CancelledError:
                if handed.done() and not handed.cancelled():
                    self._pass_on(chat)  # the turn came as the waiter was cancelled
                raise
        else:
            self._busy.add(chat)
        try:
            yield
        finally:
            self._pass_on(chat)

    def _pass_on(self, chat: ChatKey) -> None:
        waiting = self._waiting.get(chat, [])
        while waiting:
            _, _, handed = heapq.heappop(waiting)
            if not handed.done():  # a cancelled waiter is skipped
                handed.set_result(None)
                return
        self._waiting.pop(chat, None)
        self._busy.discard(chat)


@attrs.frozen
class _Target:
    """Where a call goes, as the limiter sees it."""

    chat: ChatKey
    send: bool
    method: str
    """The endpoint, lower-cased."""

    @property
    def is_group(self) -> bool:
        """Groups, supergroups and channels have negative ids or are named by @username."""
        return isinstance(self.chat, str) or (self.chat is not None and self.chat < 0)

    @property
    def held_with(self) -> tuple[ChatKey, str]:
        """What a 429 on this call holds back: every send into the chat, else this method there.

        Telegram's flood limits count messages per chat; a 429 on another call (a restriction)
        says nothing about deleting a message there, so it holds only calls of its own method
        into that chat, and enforcement of other members goes on (issue 10).
        """
        return (self.chat, "send" if self.send else self.method)

    @classmethod
    def of(cls, endpoint: str, data: dict[str, Any]) -> "_Target":
        raw = data.get("chat_id")
        chat: ChatKey
        if isinstance(raw, int) or raw is None:
            chat = raw
        else:
            text = str(raw)
            chat = int(text) if text.lstrip("-").isdigit() else text.lower()
        return cls(chat, is_send(endpoint), endpoint.lower())


class TelegramRateLimiter(BaseRateLimiter[RateLimitArgs]):
    """Paces sends into chats and retries 429s, network errors and timeouts.

    - Sends (see `is_send`) pass three aiolimiter buckets: the chat's, the group's (groups and
      channels only) and the overall one. Every other call goes straight through.
    - A 429 on a send holds back the sends into that chat; one on any other call, the calls of
      that method into that chat (a send refused for the 20-a-minute limit does not delay
      getChatMember there, nor a refused restriction the deletion of a message). The held call
      is made again after exactly `retry_after`, up to `RetryPolicy.flood_retries` times. A
      `retry_after` above `RetryPolicy.max_wait` is not waited for: the call fails with the
      `RetryAfter`, and so does every call it holds back until the wait is over.
    - A network error or 5xx is retried after a pause that doubles each time, up to
      `RetryPolicy.network_retries` times; a timeout likewise, for calls that are safe to
      repeat (see `is_safe_to_repeat`). Then the error propagates.

    - Sends into one chat that queue up for its pace go by `Priority`: answers to people first,
      then warnings, then notices (`rate_limit_args=CallOptions(priority=…)`).
    - With `shared` (a `SendBudget`: several workers on one database, issue 15), each send,
      once paced here (and ordered by priority among this process's sends into the chat),
      books its moment in the whole bot's budget (the same limits, counted once for every
      process) with its priority, and goes then: across processes too, answers go before
      warnings before notices (`SendBudget.book`). A 429 on a send holds that chat for every
      process. When the budget's store does not answer, sends are paced by this process alone.

    `rate_limit_args` (an int, or `CallOptions.flood_retries`), when a caller passes it,
    overrides the number of 429 retries for that one call.
    """

    def __init__(
        self, limits: SendLimits | None = None, retries: RetryPolicy | None = None
    ) -> None:
        """Create the limiter.

        Args:
            limits: How fast to send; defaults to Telegram's documented limits.
            retries: How to retry; defaults to `RetryPolicy()`.
        """
        self.limits = limits or SendLimits()
        self.retries = retries or RetryPolicy()
        self._overall = self.limits.overall.limiter()
        self._groups: dict[ChatKey, AsyncLimiter] = {}
        self._chats: dict[ChatKey, AsyncLimiter] = {}
        self._holds: dict[tuple[ChatKey, str], float] = {}
        self._gate = _PriorityGate()
        self.on_sent: Callable[[int, int], None] | None = None
        """Told `(chat_id, message_id)` of every message a send created (the messenger's
        `LostSends.sent`, set by the composition root)."""
        self.shared: SendBudget | None = None
        """The send budget of the whole bot, when several processes share it (set by the
        composition root); None: this process's pacing is the bot's."""
        self._shared_failed_at = float("-inf")

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Forget every bucket and hold."""
        self._groups.clear()
        self._chats.clear()
        self._holds.clear()

    @override
    async def process_request(
        self,
        callback: ApiCall,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> ApiResult:
        """Make the call, paced and retried as the class describes.

        Raises:
            RetryAfter: Telegram still refused after the retries, or asked for a longer wait
                than `RetryPolicy.max_wait`.
            NetworkError: The network retries ran out (`TimedOut` at once for calls that are
                not safe to repeat); `BadRequest` and other refusals are never retried.
        """
        target = _Target.of(endpoint, data)
        options = (
            rate_limit_args
            if isinstance(rate_limit_args, CallOptions)
            else CallOptions(flood_retries=rate_limit_args)
        )
        flood_budget = (
            self.retries.flood_retries if options.flood_retries is None else options.flood_retries
        )
        floods = failures = 0
        while True:
            await self._wait_for_hold(target)
            if target.send:
                await self._queued(target, options.priority)
            try:
                result = await _counted(callback, args, kwargs, endpoint)
            except RetryAfter as error:
                seconds = retry_after_seconds(error)
                BOT_API_FLOODS.labels(endpoint).inc()
                BOT_API_FLOOD_SECONDS.labels(endpoint).inc(seconds)
                self._hold(target, seconds)
                if target.send:
                    await self._hold_shared(target, seconds)
                if floods >= flood_budget or seconds > self.retries.max_wait:
                    log.warning(
                        "telegram.flood.gave_up endpoint=%s chat=%s retry_after=%s",
                        endpoint,
                        target.chat,
                        seconds,
                    )
                    raise
                floods += 1
                log.info(
                    "telegram.flood endpoint=%s chat=%s retry_after=%s",
                    endpoint,
                    target.chat,
                    seconds,
                )
            except BadRequest:
                raise
            except NetworkError as error:
                repeatable = not isinstance(error, TimedOut) or is_safe_to_repeat(endpoint)
                if not repeatable or failures >= self.retries.network_retries:
                    raise
                failures += 1
                pause = self.retries.pause(failures)
                log.info(
                    "telegram.network.retry endpoint=%s attempt=%s pause=%s error=%s",
                    endpoint,
                    failures,
                    pause,
                    error,
                )
                await asyncio.sleep(pause)
            else:
                if target.send and self.on_sent is not None and isinstance(result, dict):
                    _tell_sent(self.on_sent, result)
                return result

    async def _queued(self, target: "_Target", priority: Priority) -> None:
        """Wait for the chat's turn and pace, counted in the send queue's depth and wait."""
        label = priority.name.lower()
        started = asyncio.get_running_loop().time()
        SEND_QUEUE.labels(label).inc()
        try:
            async with self._gate.turn(target.chat, priority):
                await self._pace(target)
                await self._claim_shared(target, priority)
        finally:
            SEND_QUEUE.labels(label).dec()
        SEND_WAIT.labels(label).observe(asyncio.get_running_loop().time() - started)

    # --- the budget shared with the bot's other processes -------------------------------------

    async def _claim_shared(self, target: _Target, priority: Priority) -> None:
        """Book the send in the whole bot's budget (when shared) and wait for its moment."""
        while self.shared is not None:
            try:
                booking = await self.shared.book(
                    str(target.chat), group=target.is_group, priority=priority
                )
            except StorageError as error:
                self._shared_failed("book", error)
                return
            if booking.wait > 0:
                await asyncio.sleep(booking.wait)
            if booking.booked:
                return

    async def _hold_shared(self, target: _Target, seconds: float) -> None:
        if self.shared is None:
            return
        try:
            await self.shared.hold(str(target.chat), seconds)
        except StorageError as error:
            self._shared_failed("hold", error)

    def _shared_failed(self, what: str, error: StorageError) -> None:
        """Say, at most once a minute, that sends are paced by this process alone."""
        now = asyncio.get_running_loop().time()
        if now - self._shared_failed_at >= 60.0:
            self._shared_failed_at = now
            log.warning(
                "send_budget.unavailable %s: paced by this process alone error=%s", what, error
            )

    # --- holds after a 429 ------------------------------------------------------------------

    def _hold(self, target: _Target, seconds: float) -> None:
        key = target.held_with
        until = asyncio.get_running_loop().time() + seconds
        self._holds[key] = max(until, self._holds.get(key, 0.0))

    async def _wait_for_hold(self, target: _Target) -> None:
        key = target.held_with
        loop = asyncio.get_running_loop()
        while (until := self._holds.get(key)) is not None:
            remaining = until - loop.time()
            if remaining <= 0:
                if self._holds.get(key) == until:
                    del self._holds[key]
                return
            if remaining > self.retries.max_wait:
                raise _retry_after(remaining)
            await asyncio.sleep(remaining)

    # --- pacing sends -----------------------------------------------------------------------

    async def _pace(self, target: _Target) -> None:
        await self._bucket(self._chats, target.chat, self.limits.per_chat).acquire()
        if target.is_group:
            await self._bucket(self._groups, target.chat, self.limits.per_group).acquire()
        await self._overall.acquire()

    @staticmethod
    def _bucket(buckets: dict[ChatKey, AsyncLimiter], chat: ChatKey, pace: Pace) -> AsyncLimiter:
        found = buckets.get(chat)
        if found is None:
            if len(buckets) >= _PRUNE_ABOVE:
                for key, idle in list(buckets.items()):
                    if idle.has_capacity(idle.max_rate):  # full again: forgetting loses nothing
                        del buckets[key]
            found = buckets[chat] = pace.limiter()
        return found


async def _counted(
    callback: ApiCall, args: Any, kwargs: dict[str, Any], endpoint: str
) -> ApiResult:
    """Make one attempt and count its outcome: ok, or the Telegram error's class."""
    try:
        result = await callback(*args, **kwargs)
    except Exception as error:
        outcome = type(error).__name__ if isinstance(error, TelegramError) else "unexpected"
        BOT_API_CALLS.labels(endpoint, outcome).inc()
        raise
    BOT_API_CALLS.labels(endpoint, "ok").inc()
    return result


def _tell_sent(on_sent: Callable[[int, int], None], result: dict[str, Any]) -> None:
    """Pass on the chat and id of the message a send returned (a Message's JSON)."""
    chat, message_id = result.get("chat"), result.get("message_id")
    if isinstance(chat, dict) and isinstance(message_id, int):
        chat_id = cast("dict[str, Any]", chat).get("id")
        if isinstance(chat_id, int):
            on_sent(chat_id, message_id)


_PRUNE_ABOVE = 1024
"""How many per-chat buckets to keep before dropping the idle ones."""


def _retry_after(seconds: float) -> RetryAfter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return RetryAfter(dt.timedelta(seconds=round(seconds, 3)))
