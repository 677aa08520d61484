"""The steps every paced sender's use case takes with its durable intents (rule 11).

`SendAnswers`, `SendGateInvitations` and `SendNotices` each claim one due intent of their kind
in a group, send it, then complete it or defer it; the claiming, completing and deferring are
the same for all three and live here. What a round came to is a `RoundReport`.
"""

from collections.abc import Collection
from datetime import datetime, timedelta

import attrs

from application.errors import MessengerUnavailable
from application.ports.unit_of_work import UnitOfWork
from domain.ids import GroupId
from domain.schedule import ActionKind, ScheduledAction


@attrs.frozen
class RoundReport:
    """What one round of a paced sender in a group came to."""

    sent: int = 0
    dropped: int = 0
    """Intents that ended unsent: obsolete, malformed, or refused by Telegram."""
    deferred: int = 0
    """Intents Telegram could not take now: they run again later."""

    @property
    def idle(self) -> bool:
        """Nothing was due."""
        return not (self.sent or self.dropped or self.deferred)


async def claim_one(
    uow: UnitOfWork,
    group_id: GroupId,
    kinds: Collection[ActionKind],
    now: datetime,
    lease: timedelta,
) -> ScheduledAction | None:
    """The group's earliest due intent of `kinds`, held for `lease`; None when none is due."""
    async with uow.begin(group_id) as tx:
        claimed = await tx.actions.claim_due(group_id, now, lease, 1, frozenset(kinds))
        await tx.commit()
    return claimed[0] if claimed else None


async def complete(uow: UnitOfWork, intent: ScheduledAction) -> None:
    """The intent is done with (sent, obsolete or refused)."""
    async with uow.begin(intent.group_id) as tx:
        await tx.actions.complete(intent.group_id, intent.action_id)
        await tx.commit()


async def defer(
    uow: UnitOfWork, intent: ScheduledAction, now: datetime, error: MessengerUnavailable
) -> ScheduledAction:
    """Telegram could not take it now: due again after `retry_after` or the backoff."""
    later = intent.deferred(now, error.retry_after)
    async with uow.begin(intent.group_id) as tx:
        await tx.actions.reschedule(later)
        await tx.commit()
    return later
