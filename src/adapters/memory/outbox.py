"""The sender's doorbell in process memory (one process; several workers need a shared one)."""

import asyncio

from application.ports.outbox import Outbox
from domain.ids import GroupId


class InMemoryOutbox(Outbox):
    """Remembers which groups were rung until the sender asks."""

    def __init__(self) -> None:
        self._rung: set[GroupId] = set()
        self._event = asyncio.Event()

    def wake(self, group_id: GroupId) -> None:
        self._rung.add(group_id)
        self._event.set()

    async def woken(self, wait_at_most: float) -> frozenset[GroupId]:
        """The groups rung since the last call, waiting up to `wait_at_most` seconds for one."""
        if not self._rung:
            try:
                async with asyncio.timeout(wait_at_most):
                    await self._event.wait()
            except TimeoutError:
                pass
        rung, self._rung = frozenset(self._rung), set()
        self._event.clear()
        return rung
