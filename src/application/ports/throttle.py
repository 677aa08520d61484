"""Throttling of things people (or failures) trigger too often."""

from abc import abstractmethod
from datetime import timedelta
from typing import Protocol


class Throttle(Protocol):
    """Admits one use of a key per cooldown."""

    @abstractmethod
    async def allow(self, key: str, cooldown: timedelta) -> bool:
        """Mark `key` as used now and return True, unless it was already used within `cooldown`.

        A refused use does not extend the cooldown.
        """
