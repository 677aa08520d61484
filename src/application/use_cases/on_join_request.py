"""A request to join a chat (chat_join_request): the join gate of rule 14."""

import enum

import attrs

from application.audit_trail import record
from application.join_gate import Approval, JoinGate
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.outbox import Outbox
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, UserId
from domain.join_request import PendingJoinRequest
from domain.language import private_language
from domain.policy import GroupPolicy
from domain.schedule import gate_invitation_intent, join_request_timeout


@attrs.frozen
class JoinRequestCommand:
    """`user_id` asked to join `chat_id` (a group, or a channel when `is_channel`)."""

    chat_id: int
    user_id: UserId
    is_channel: bool = False
    user_chat_id: int | None = None
    """The private chat Telegram lets the bot write to for 5 minutes; the user's id if absent."""
    language_code: str | None = None
    """The requester's Telegram language: the gate's private messages use it (rule 15)."""


class JoinRequestOutcome(enum.StrEnum):
    """What the request came to."""

    RECORDED = "recorded"
    """The gate is off: audited, left pending for the admins."""
    NOT_PROTECTED = "not_protected"
    APPROVED = "approved"
    APPROVAL_DEFERRED = "approval_deferred"
    APPROVAL_REFUSED = "approval_refused"
    HELD = "held"
    """Pending until they have joined, or the timeout; the paced sender tells them in private
    what to join."""
    ALREADY_HELD = "already_held"
    """The same request again (Telegram resent it): nothing stored or sent twice."""


_APPROVALS = {
    Approval.APPROVED: JoinRequestOutcome.APPROVED,
    Approval.GONE: JoinRequestOutcome.APPROVED,
    Approval.DEFERRED: JoinRequestOutcome.APPROVAL_DEFERRED,
    Approval.REFUSED: JoinRequestOutcome.APPROVAL_REFUSED,
}


@attrs.frozen
class OnJoinRequest:
    """Rule 14: the join-request gate.

    - With the group's `join_gate` off, a request to a protected group is audited and left
      pending for the admins, as if the bot were not there. Requests to channels and to
      unprotected groups are not the bot's business.
    - With it on, a requester who joined every required channel (or is exempt) is approved
      at once (deferred, never dropped, when Telegram cannot take it now).
    - Anyone else is remembered as pending, with the decline scheduled at the group's
      `join_gate_timeout` (none when `off`: the admins decide), and an intent to tell them in
      private, through the chat Telegram opens for 5 minutes, which channels to join (sent by
      the paced sender, `SendGateInvitations`: handling a request never waits on a message).
    - The same request handled again (Telegram resends updates the bot did not confirm, e.g.
      after a crash) keeps its first timeout and intent.
    """

    lookups: Lookups
    gate: JoinGate
    uow: UnitOfWork
    clock: Clock
    outbox: Outbox

    async def execute(self, command: JoinRequestCommand) -> JoinRequestOutcome:
        """Approve, invite in private, or record the request."""
        if command.is_channel:
            return JoinRequestOutcome.NOT_PROTECTED
        group_id, user_id = GroupId(command.chat_id), command.user_id
        snapshot = await self.lookups.snapshot(group_id)
        policy = snapshot.protected_policy
        if policy is None:
            return JoinRequestOutcome.NOT_PROTECTED
        now = self.clock.now()
        if not policy.settings.join_gate:
            await record(
                self.uow, AuditEvent(group_id, AuditKind.JOIN_REQUESTED, now, subject=user_id)
            )
            return JoinRequestOutcome.RECORDED
        if user_id in snapshot.exempt:
            return _APPROVALS[await self.gate.approve(group_id, user_id, reasons.EXEMPT)]
        decision = await self.lookups.decision(policy, user_id, fresh=False)
        if not decision.restrict:
            approval = await self.gate.approve(group_id, user_id, reasons.JOINED_EVERY_CHANNEL)
            return _APPROVALS[approval]
        held = await self._hold(
            policy,
            PendingJoinRequest(
                group_id,
                user_id,
                command.user_chat_id or user_id,
                now,
                language=private_language(command.language_code),
            ),
            missing=reasons.channel_list(decision.restrict_for),
        )
        if not held:
            return JoinRequestOutcome.ALREADY_HELD
        self.outbox.wake(group_id)
        return JoinRequestOutcome.HELD

    async def _hold(
        self, policy: GroupPolicy, request: PendingJoinRequest, *, missing: str
    ) -> bool:
        """Store the request with its timeout and invitation; False if it was already held."""
        group_id, user_id = request.group_id, request.user_id
        async with self.uow.begin(group_id) as tx:
            if await tx.join_requests.get(group_id, user_id) is not None:
                return False
            await tx.join_requests.save(request)
            await tx.actions.add(gate_invitation_intent(group_id, user_id, request.requested_at))
            timeout = join_request_timeout(policy, user_id, request.requested_at)
            if timeout is not None:
                await tx.actions.add(timeout)
            await tx.audit.record(
                AuditEvent(
                    group_id,
                    AuditKind.JOIN_REQUESTED,
                    request.requested_at,
                    subject=user_id,
                    reason=reasons.HELD_BY_GATE.format(channels=missing),
                )
            )
            await tx.commit()
        return True
