"""A request to join a chat (chat_join_request): the join gate of rule 14."""

import enum

import attrs

from application.audit_trail import record
from application.errors import MessengerError
from application.join_gate import Approval, JoinGate
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.messenger import GateInvitation, Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, UserId
from domain.join_request import PendingJoinRequest
from domain.policy import GroupPolicy
from domain.schedule import join_request_timeout


@attrs.frozen
class JoinRequestCommand:
    """`user_id` asked to join `chat_id` (a group, or a channel when `is_channel`)."""

    chat_id: int
    user_id: UserId
    is_channel: bool = False
    user_chat_id: int | None = None
    """The private chat Telegram lets the bot write to for 5 minutes; the user's id if absent."""


class JoinRequestOutcome(enum.StrEnum):
    """What the request came to."""

    RECORDED = "recorded"
    """The gate is off: audited, left pending for the admins."""
    NOT_PROTECTED = "not_protected"
    APPROVED = "approved"
    APPROVAL_DEFERRED = "approval_deferred"
    APPROVAL_REFUSED = "approval_refused"
    INVITED = "invited"
    """Told in private what to join; pending until they have, or the timeout."""
    NOT_INVITED = "not_invited"
    """The private message failed: pending until the timeout (the audit trail says why)."""
    ALREADY_INVITED = "already_invited"
    """The same request again (Telegram resent it): nothing sent twice."""


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
      `join_gate_timeout` (none when `off`: the admins decide), and told in private, through
      the chat Telegram opens for 5 minutes, which channels to join, with a Verify button.
      A private message that fails leaves the request pending; the audit trail says why.
    - The same request handled again (Telegram resends updates the bot did not confirm, e.g.
      after a crash) keeps its first timeout and is messaged only if it was not yet.
    """

    lookups: Lookups
    gate: JoinGate
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock

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
            return _APPROVALS[await self.gate.approve(group_id, user_id, "exempt")]
        decision = await self.lookups.decision(policy, user_id, fresh=False)
        if not decision.restrict:
            approval = await self.gate.approve(group_id, user_id, "joined every channel")
            return _APPROVALS[approval]
        request = await self._remember(
            policy,
            PendingJoinRequest(group_id, user_id, command.user_chat_id or user_id, now),
            missing=", ".join(str(c) for c in decision.restrict_for),
        )
        if request.message_id is not None:
            return JoinRequestOutcome.ALREADY_INVITED
        invitation = GateInvitation(
            request.user_chat_id,
            group_id,
            policy.title,
            policy.channels_of(decision.restrict_for),
            policy.settings.join_gate_timeout,
        )
        try:
            message_id = await self.messenger.send_gate_invitation(invitation)
        except MessengerError as error:
            until = "the timeout" if invitation.timeout is not None else "an admin decides"
            reason = f"private message to the requester failed ({error}): pending until {until}"
            await record(self.uow, AuditEvent.action_failed(group_id, now, user_id, reason))
            return JoinRequestOutcome.NOT_INVITED
        async with self.uow.begin(group_id) as tx:
            current = await tx.join_requests.get(group_id, user_id)
            if current is not None:  # else approved meanwhile (the last channel joined)
                await tx.join_requests.save(current.messaged(message_id))
            await tx.commit()
        return JoinRequestOutcome.INVITED

    async def _remember(
        self, policy: GroupPolicy, request: PendingJoinRequest, *, missing: str
    ) -> PendingJoinRequest:
        """The request as the gate holds it: the stored one, or this one, newly stored."""
        group_id, user_id = request.group_id, request.user_id
        async with self.uow.begin(group_id) as tx:
            stored = await tx.join_requests.get(group_id, user_id)
            if stored is not None:
                return stored
            await tx.join_requests.save(request)
            timeout = join_request_timeout(policy, user_id, request.requested_at)
            if timeout is not None:
                await tx.actions.add(timeout)
            await tx.audit.record(
                AuditEvent(
                    group_id,
                    AuditKind.JOIN_REQUESTED,
                    request.requested_at,
                    subject=user_id,
                    reason=f"held by the join gate; missing {missing}",
                )
            )
            await tx.commit()
        return request
