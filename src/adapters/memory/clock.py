"""A clock that only moves when told to."""

from datetime import UTC, datetime, timedelta

import attrs

from application.ports.clock import Clock


@attrs.define
class FrozenClock(Clock):
    """Stands still at `current` until `advance()`."""

    current: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, by: timedelta) -> None:
        """Move time forward."""
        self.current += by
