"""The real clock, shared by every adapter family."""

from datetime import UTC, datetime, timedelta

from application.ports.clock import Clock


class SystemClock(Clock):
    """The system's time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class MovableClock(Clock):
    """The system clock plus an offset that only grows (the demo and tests skip waits with it)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, by: timedelta) -> None:
        """Move time forward."""
        self._offset += by
