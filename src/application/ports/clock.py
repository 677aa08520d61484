"""Time, passed into the core instead of read from the system."""

from abc import abstractmethod
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The current time."""

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
