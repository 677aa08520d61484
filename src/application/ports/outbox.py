"""Waking the paced sender when a warning or notice intent is stored (rule 11)."""

from abc import abstractmethod
from typing import Protocol

from domain.ids import GroupId


class Outbox(Protocol):
    """The doorbell of the paced sender.

    Warnings and notices to admins are durable intents (`ActionKind.SEND_WARNING` and
    `SEND_NOTICE` in the schedule); the sender finds them by itself within a second, and at once
    when rung. Ringing never waits and never fails.
    """

    @abstractmethod
    def wake(self, group_id: GroupId) -> None:
        """An intent for this group was committed: send it as soon as the budget allows."""

    @abstractmethod
    async def woken(self, wait_at_most: float) -> frozenset[GroupId]:
        """The groups rung since the last call, waiting up to `wait_at_most` s for one ring."""
