"""`/raid`, `/raid on [duration]`, `/raid off`: an admin's hand on raid mode (rule 13)."""

import enum
from datetime import timedelta

import attrs

from application.authorization import Caller, ensure_can_configure
from application.lookups import Lookups
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.raids import Raids
from domain.audit import AuditKind
from domain.ids import GroupId
from domain.policy import GroupSettings
from domain.raid import Raid


class RaidOrder(enum.StrEnum):
    """What the admin asked for."""

    SHOW = "show"
    ON = "on"
    OFF = "off"


@attrs.frozen
class RaidCommand:
    """Show raid mode's state, or switch it on (for `lasting`) or off."""

    group_id: GroupId
    caller: Caller
    order: RaidOrder = RaidOrder.SHOW
    lasting: timedelta | None = None


class RaidOutcome(enum.StrEnum):
    """What the command came to."""

    SHOWN = "shown"
    STARTED = "started"
    EXTENDED = "extended"
    """A raid was going on: it now ends when the admin said."""
    ENDED = "ended"
    NONE_GOING_ON = "none_going_on"
    NOT_PROTECTED = "not_protected"


@attrs.frozen
class RaidState:
    """The outcome, the raid as it now stands (if one is going on) and the threshold."""

    outcome: RaidOutcome
    raid: Raid | None
    threshold: int | None
    muted: int = 0
    """Members muted since the raid began (or during the raid that just ended)."""


@attrs.frozen
class ControlRaid:
    """Raid mode by hand. Admins only.

    - `/raid` tells whether a raid is going on, since when, until when, and how many members
      were muted since it began, with the group's `raid_threshold`.
    - `/raid on [duration]` starts raid mode in a protected group for `duration` (1 hour by
      default); during an automatic raid it makes the raid end then instead.
    - `/raid off` ends the raid going on; the admins hear how many were muted, the notice
      says it is over. Joins count from nothing again.
    """

    raids: Raids
    lookups: Lookups
    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, command: RaidCommand) -> RaidState:
        """Show, start or end."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        by = command.caller.user_id
        match command.order:
            case RaidOrder.SHOW:
                outcome = RaidOutcome.SHOWN
            case RaidOrder.ON:
                if (await self.lookups.snapshot(group_id)).protected_policy is None:
                    return await self._state(group_id, RaidOutcome.NOT_PROTECTED)
                started = await self.raids.start(group_id, by=by, lasting=command.lasting)
                outcome = RaidOutcome.STARTED if started else RaidOutcome.EXTENDED
            case RaidOrder.OFF:
                muted = await self.raids.end(group_id, by=by)
                if muted is not None:
                    state = await self._state(group_id, RaidOutcome.ENDED)
                    return attrs.evolve(state, raid=None, muted=muted)
                outcome = RaidOutcome.NONE_GOING_ON
        return await self._state(group_id, outcome)

    async def _state(self, group_id: GroupId, outcome: RaidOutcome) -> RaidState:
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
            raid = policy.raid if policy is not None and policy.raid_on else None
            muted = (
                await tx.audit.count(group_id, AuditKind.MUTED, raid.started_at)
                if raid is not None
                else 0
            )
        settings = policy.settings if policy is not None else GroupSettings()
        return RaidState(outcome, raid, settings.raid_threshold, muted)
