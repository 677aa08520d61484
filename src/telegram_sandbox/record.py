"""The record of every Bot API call the sandbox served, queryable and printable."""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

type Json = dict[str, Any]


@attrs.frozen
class Call:
    """One request the sandbox answered (or dropped).

    Attributes:
        seq: Position in the log, from 1.
        at: Wall-clock time the request arrived (seconds since the epoch).
        method: The Bot API method as the client spelled it in the URL.
        params: The decoded parameters (JSON values decoded where the client JSON-encoded them).
        status: The HTTP status answered (0 when the connection was dropped).
        error_code: The envelope's `error_code`, or None on success.
        description: The envelope's `description` (errors and some successes), or None.
        retry_after: `parameters.retry_after` of a 429 answer, or None.
        fault: The name of the injected fault that shaped the answer, or None.
    """

    seq: int
    at: float
    method: str
    params: Json
    status: int
    error_code: int | None = None
    description: str | None = None
    retry_after: int | None = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call was answered with `"ok": true`."""
        return self.status == 200 and self.error_code is None

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter's decoded value, or `default` when it was not sent."""
        return self.params.get(name, default)

    def line(self) -> str:
        """The call as one transcript line."""
        stamp = (
            time.strftime("%H:%M:%S", time.gmtime(self.at)) + f".{int(self.at * 1000) % 1000:03d}"
        )
        shown = " ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        if self.ok:
            outcome = "ok"
        elif self.status == 0:
            outcome = "dropped"
        else:
            outcome = f"{self.error_code} {self.description}"
        if self.fault is not None:
            outcome += f" [fault: {self.fault}]"
        return f"{stamp} #{self.seq:<4} {self.method} {shown} -> {outcome}".replace("  ->", " ->")


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


type CallPredicate = Callable[[Call], bool]


class CallLog:
    """Every call the sandbox served, in arrival order, with waits for tests."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls))

    def append(
        self,
        method: str,
        params: Json,
        status: int,
        *,
        at: float | None = None,
        error_code: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        fault: str | None = None,
    ) -> Call:
        """Record one answered call and wake whoever waits for calls."""
        call = Call(
            seq=len(self._calls) + 1,
            at=time.time() if at is None else at,
            method=method,
            params=params,
            status=status,
            error_code=error_code,
            description=description,
            retry_after=retry_after,
            fault=fault,
        )
        self._calls.append(call)
        self.notify()
        return call

    def notify(self) -> None:
        """Wake every waiter so it re-checks its condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    def mark(self) -> int:
        """The current length: pass it as `since` to look only at calls made after now."""
        return len(self._calls)

    def all(self, *, since: int = 0) -> list[Call]:
        """Every call, oldest first (those after position `since` only)."""
        return self._calls[since:]

    def of(self, method: str, *, since: int = 0) -> list[Call]:
        """The calls of one method (case-insensitive, as Telegram matches method names)."""
        wanted = method.lower()
        return [c for c in self._calls[since:] if c.method.lower() == wanted]

    def count(self, method: str | None = None, *, ok: bool | None = None) -> int:
        """How many calls (of `method`, if given; successful or failed only, if `ok` is set)."""
        calls = self._calls if method is None else self.of(method)
        return sum(1 for c in calls if ok is None or c.ok == ok)

    def last(self, method: str) -> Call | None:
        """The most recent call of `method`, or None."""
        calls = self.of(method)
        return calls[-1] if calls else None

    def find(
        self, method: str | None = None, where: CallPredicate | None = None, *, since: int = 0
    ) -> list[Call]:
        """The calls of `method` (any if None) that satisfy `where` (all if None)."""
        calls = self._calls[since:] if method is None else self.of(method, since=since)
        return [c for c in calls if where is None or where(c)]

    async def wait_for(
        self,
        method: str | None = None,
        where: CallPredicate | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """Wait for a call of `method` matching `where`, made after position `since`.

        Calls already in the log count, so call `mark()` before acting to see only new ones.

        Raises:
            TimeoutError: No such call arrived within `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while True:
                found = self.find(method, where, since=since)
                if found:
                    return found[0]
                await self._changed.wait()

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `condition()` holds, re-checking after every call the sandbox serves.

        Raises:
            TimeoutError: The condition did not hold within `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while not condition():
                await self._changed.wait()

    def clear(self) -> None:
        """Forget every recorded call."""
        self._calls.clear()

    def transcript(self, *, skip: tuple[str, ...] = ("getUpdates",)) -> str:
        """The calls as text, one line each, leaving out the methods in `skip`."""
        skipped = {m.lower() for m in skip}
        return "\n".join(c.line() for c in self._calls if c.method.lower() not in skipped)
