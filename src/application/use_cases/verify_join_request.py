"""A requester pressed Verify in the private message of the join gate (rule 14)."""

import enum

import attrs

from application.join_gate import Approval, JoinGate
from application.lookups import Lookups
from application.ports.throttle import Throttle
from application.use_cases.press_verify import VERIFY_COOLDOWN
from domain import reasons
from domain.ids import GroupId, UserId
from domain.policy import RequiredChannel


@attrs.frozen
class GateVerifyCommand:
    """`presser` pressed the Verify of the gate's message about their request to `group_id`.

    The group id is read from the button's data, so it may be forged: the press acts only on
    the presser's own pending request there, if the gate holds one.
    """

    group_id: GroupId
    presser: UserId


class GateVerifyOutcome(enum.StrEnum):
    """What the press came to."""

    APPROVED = "approved"
    STILL_MISSING = "still_missing"
    NO_REQUEST = "no_request"
    """The gate holds no request of the presser's there (already ended, or forged)."""
    THROTTLED = "throttled"
    DEFERRED = "deferred"
    """Telegram could not take the approval now; it is scheduled."""
    REFUSED = "refused"


@attrs.frozen
class GateVerifyResult:
    """The outcome, and the channels still missing when there are any."""

    outcome: GateVerifyOutcome
    missing: tuple[RequiredChannel, ...] = ()


_OUTCOMES = {
    Approval.APPROVED: GateVerifyOutcome.APPROVED,
    Approval.GONE: GateVerifyOutcome.NO_REQUEST,
    Approval.DEFERRED: GateVerifyOutcome.DEFERRED,
    Approval.REFUSED: GateVerifyOutcome.REFUSED,
}


@attrs.frozen
class VerifyJoinRequest:
    """Rule 14 (with rule 5's Verify): approve the presser's request once they joined.

    - It acts only on the presser's own pending request to the group the button names.
    - Presses are throttled per member.
    - It re-checks every channel fresh from Telegram (no cache).
    - With protection off the gate holds nothing: the request is the admins'.
    """

    lookups: Lookups
    gate: JoinGate
    throttle: Throttle

    async def execute(self, command: GateVerifyCommand) -> GateVerifyResult:
        """Re-check the presser and approve their request if they joined everything."""
        group_id, user = command.group_id, command.presser
        if not await self.throttle.allow(f"gate-verify:{group_id}:{user}", VERIFY_COOLDOWN):
            return GateVerifyResult(GateVerifyOutcome.THROTTLED)
        if await self.gate.pending(group_id, user) is None:
            return GateVerifyResult(GateVerifyOutcome.NO_REQUEST)
        policy = (await self.lookups.snapshot(group_id)).protected_policy
        if policy is None:
            return GateVerifyResult(GateVerifyOutcome.NO_REQUEST)
        decision = await self.lookups.decision(policy, user, fresh=True)
        if decision.restrict:
            missing = policy.channels_of(decision.restrict_for)
            return GateVerifyResult(GateVerifyOutcome.STILL_MISSING, missing)
        approval = await self.gate.approve(group_id, user, reasons.VERIFIED)
        return GateVerifyResult(_OUTCOMES[approval])
