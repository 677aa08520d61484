"""The real clock, shared by every adapter family."""

from datetime import UTC, datetime

from application.ports.clock import Clock


class SystemClock(Clock):
    """The system's time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
