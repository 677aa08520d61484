"""Telegram's flood limits (switchable, with an injectable clock) and fault injection."""

import math
import time
from collections import Counter, deque
from collections.abc import Callable

import attrs

type Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told to: lets tests cross minute-long windows instantly."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current time, in seconds."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self.now += seconds


@attrs.frozen
class FloodLimits:
    """How much a bot may send before the sandbox answers 429, as Telegram documents it.

    The defaults are the Bot FAQ's numbers: about 30 messages a second overall, 20 messages a
    minute into one group or channel, and about one message a second sustained into one chat
    (a short burst of `chat_burst` is let through, as Telegram does).

    Attributes:
        enabled: False switches every flood limit off.
        overall_max: Messages allowed in any `overall_window` seconds, all chats together.
        overall_window: Length of the overall window in seconds.
        group_max: Messages allowed into one group or channel in any `group_window` seconds.
        group_window: Length of the per-group window in seconds.
        chat_rate: Sustained messages per second into one chat (0 switches the rule off).
        chat_burst: Messages one chat takes at once before `chat_rate` applies.
    """

    enabled: bool = True
    overall_max: int = 30
    overall_window: float = 1.0
    group_max: int = 20
    group_window: float = 60.0
    chat_rate: float = 1.0
    chat_burst: int = 3

    @classmethod
    def off(cls) -> "FloodLimits":
        """Limits that never refuse anything."""
        return cls(enabled=False)


@attrs.define
class _Bucket:
    tokens: float
    stamp: float


class FloodControl:
    """Counts the messages a bot sends and decides when Telegram would answer 429.

    Attributes:
        limits: The limits in force; assign a new `FloodLimits` to change them at run time.
        served: How many 429 answers each rule produced: keys "overall", "group", "chat".
    """

    def __init__(self, limits: FloodLimits | None = None, clock: Clock = time.monotonic) -> None:
        self.limits = limits or FloodLimits()
        self.clock = clock
        self.served: Counter[str] = Counter()
        self._overall: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._chats: dict[int, _Bucket] = {}

    @property
    def served_total(self) -> int:
        """How many 429 answers the flood rules produced in all."""
        return sum(self.served.values())

    def reset(self) -> None:
        """Forget every message counted so far (the 429 counters stay)."""
        self._overall.clear()
        self._groups.clear()
        self._chats.clear()

    def admit(self, chat_id: int, *, is_group: bool) -> int | None:
        """Count one message into `chat_id`, or refuse it.

        Returns:
            None when the message may go, else the `retry_after` (whole seconds, at least 1)
            Telegram would answer; a refused message is not counted.
        """
        limits = self.limits
        if not limits.enabled:
            return None
        now = self.clock()
        waits: list[tuple[str, float]] = []
        overall = self._overall
        _expire(overall, now - limits.overall_window)
        if len(overall) >= limits.overall_max:
            waits.append(("overall", overall[0] + limits.overall_window - now))
        group = self._groups.setdefault(chat_id, deque()) if is_group else None
        if group is not None:
            _expire(group, now - limits.group_window)
            if len(group) >= limits.group_max:
                waits.append(("group", group[0] + limits.group_window - now))
        bucket: _Bucket | None = None
        if limits.chat_rate > 0:
            bucket = self._chats.setdefault(chat_id, _Bucket(float(limits.chat_burst), now))
            bucket.tokens = min(
                float(limits.chat_burst), bucket.tokens + (now - bucket.stamp) * limits.chat_rate
            )
            bucket.stamp = now
            if bucket.tokens < 1.0:
                waits.append(("chat", (1.0 - bucket.tokens) / limits.chat_rate))
        if waits:
            rule, wait = max(waits, key=lambda w: w[1])
            self.served[rule] += 1
            return max(1, math.ceil(wait - 1e-9))
        overall.append(now)
        if group is not None:
            group.append(now)
        if bucket is not None:
            bucket.tokens -= 1.0
        return None


def _expire(window: deque[float], before: float) -> None:
    while window and window[0] <= before:
        window.popleft()


@attrs.frozen
class RetryAfterFault:
    """Answer 429 "Too Many Requests: retry after N" with `parameters.retry_after` = N."""

    retry_after: int = 1

    @property
    def name(self) -> str:
        """A short name for the transcript."""
        return f"429 retry_after={self.retry_after}"


@attrs.frozen
class ServerErrorFault:
    """Answer a 5xx status with Telegram's envelope (502 is what PTB maps to NetworkError)."""

    status: int = 502
    description: str = "Bad Gateway"

    @property
    def name(self) -> str:
        """A short name for the transcript."""
        return f"{self.status} {self.description}"


@attrs.frozen
class HangFault:
    """Hold the request `seconds` before serving it normally (the client may give up first).

    As on Telegram, a call the client timed out on may still take effect.
    """

    seconds: float = 5.0

    @property
    def name(self) -> str:
        """A short name for the transcript."""
        return f"hang {self.seconds}s"


@attrs.frozen
class DropFault:
    """Close the connection without answering and without serving the call."""

    @property
    def name(self) -> str:
        """A short name for the transcript."""
        return "dropped connection"


type Fault = RetryAfterFault | ServerErrorFault | HangFault | DropFault


class FaultInjector:
    """Makes the next N calls of a method fail in a chosen way.

    Attributes:
        served: How many calls each method had spoiled by an injected fault.
    """

    def __init__(self) -> None:
        self._pending: dict[str, list[Fault]] = {}
        self.served: Counter[str] = Counter()

    def inject(self, method: str, fault: Fault, *, times: int = 1) -> None:
        """Make the next `times` calls of `method` (case-insensitive) fail with `fault`."""
        self._pending.setdefault(method.lower(), []).extend([fault] * times)

    def pending(self, method: str) -> int:
        """How many injected faults still wait for `method`."""
        return len(self._pending.get(method.lower(), []))

    def clear(self) -> None:
        """Drop every fault not yet served."""
        self._pending.clear()

    def take(self, method: str) -> Fault | None:
        """The fault for this call of `method`, if one is pending (it is then used up)."""
        queue = self._pending.get(method.lower())
        if not queue:
            return None
        self.served[method.lower()] += 1
        return queue.pop(0)
