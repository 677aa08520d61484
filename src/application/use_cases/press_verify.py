"""A member pressed the Verify button of a warning."""

import enum
from datetime import datetime, timedelta

import attrs

from application.errors import MessengerError
from application.lookups import Lookups
from application.ports.throttle import Throttle
from application.ports.unit_of_work import UnitOfWork
from application.restrictions import Restrictions
from application.use_cases.retire_stale_warning import RetireStaleWarning, StaleWarningCommand
from domain import reasons
from domain.ids import GroupId, MessageId, UserId
from domain.policy import RequiredChannel

VERIFY_COOLDOWN = timedelta(seconds=5)


@attrs.frozen
class PressVerifyCommand:
    """`presser` pressed the Verify button of the warning addressed to `owner`."""

    group_id: GroupId
    presser: UserId
    owner: UserId | None
    """Read from the button's data, so it may be forged: it is only compared with `presser`.
    `None` on a merged warning, whose Verify acts on whoever presses it (rule 11)."""
    warning_id: MessageId | None = None
    """The message that carries the button: the owner's warning, deleted once they are free."""
    posted_at: datetime | None = None
    """When the bot posted that message; `None` unless the bot posted it (only a message of
    the bot's is ever deleted as a stale warning)."""


class VerifyOutcome(enum.StrEnum):
    """What the press came to."""

    LIFTED = "lifted"
    STILL_MISSING = "still_missing"
    NOT_YOURS = "not_yours"
    THROTTLED = "throttled"
    NOT_RESTRICTED_BY_BOT = "not_restricted_by_bot"
    UNAVAILABLE = "unavailable"


@attrs.frozen
class VerifyResult:
    """The outcome, and the channels still missing when there are any."""

    outcome: VerifyOutcome
    missing: tuple[RequiredChannel, ...] = ()


@attrs.frozen
class PressVerify:
    """Rule 5: the Verify button.

    - It acts on the person who pressed it, and only if the warning was addressed to them (or
      names several members, merged): anyone else's press changes nothing for anyone.
    - Presses are throttled per member.
    - It lifts only a restriction the bot applied, never an admin's manual mute.
    - It re-checks every channel fresh from Telegram (no cache).
    - Rule 11: a press on a warning that is no member's current warning (the orphan of a send
      that timed out, or one left behind) acts as usual, then deletes that warning.
    """

    lookups: Lookups
    restrictions: Restrictions
    throttle: Throttle
    uow: UnitOfWork
    stale_warnings: RetireStaleWarning

    async def execute(self, command: PressVerifyCommand) -> VerifyResult:
        """Re-check the presser and lift the bot's restriction if they joined everything."""
        result = await self._press(command)
        warning_id, posted_at = command.warning_id, command.posted_at
        # A lift has already deleted the pressed warning, unless it still warns someone else.
        lifted = result.outcome is VerifyOutcome.LIFTED
        if not lifted and warning_id is not None and posted_at is not None:
            stale = StaleWarningCommand(command.group_id, warning_id, posted_at)
            await self.stale_warnings.execute(stale)
        return result

    async def _press(self, command: PressVerifyCommand) -> VerifyResult:
        group_id, user = command.group_id, command.presser
        if command.owner is not None and command.presser != command.owner:
            return VerifyResult(VerifyOutcome.NOT_YOURS)
        if not await self.throttle.allow(f"verify:{group_id}:{user}", VERIFY_COOLDOWN):
            return VerifyResult(VerifyOutcome.THROTTLED)
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user)
        if restriction is None:
            return VerifyResult(VerifyOutcome.NOT_RESTRICTED_BY_BOT)
        policy = (await self.lookups.snapshot(group_id)).protected_policy
        if policy is not None:
            decision = await self.lookups.decision(policy, user, fresh=True)
            if decision.restrict:
                await self.restrictions.note_missing(group_id, user, decision.restrict_for)
                missing = policy.channels_of(decision.restrict_for)
                return VerifyResult(VerifyOutcome.STILL_MISSING, missing)
        try:
            await self.restrictions.lift(
                group_id, user, reason=reasons.VERIFIED, warning_id=command.warning_id
            )
        except MessengerError:
            return VerifyResult(VerifyOutcome.UNAVAILABLE)
        return VerifyResult(VerifyOutcome.LIFTED)
