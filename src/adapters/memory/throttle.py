"""Per-key cooldowns kept in process."""

from datetime import datetime, timedelta

import attrs
from cachetools import LRUCache

from application.ports.clock import Clock
from application.ports.throttle import Throttle


@attrs.define
class InMemoryThrottle(Throttle):
    """Remembers when each key was last admitted (bounded: the oldest keys are forgotten first)."""

    clock: Clock
    max_keys: int = 100_000
    _last: LRUCache[str, datetime] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._last = LRUCache(maxsize=self.max_keys)

    async def allow(self, key: str, cooldown: timedelta) -> bool:
        now = self.clock.now()
        last = self._last.get(key)
        if last is not None and now - last < cooldown:
            return False
        self._last[key] = now
        return True
