"""Rule 14, the join-request gate: approving and declining the requests it holds pending.

Shared by the use cases that end a request: the request itself (a subscriber is approved at
once), a channel join (the last missing channel), a Verify in the private chat, and the
scheduled timeout.
"""

import enum
import logging

import attrs

from application.errors import JoinRequestGone, MessengerError, MessengerUnavailable
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.messenger import GateNote, GateOutcome, Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import GroupId, UserId
from domain.join_request import PendingJoinRequest
from domain.policy import GroupPolicy
from domain.schedule import ActionKind, approval_retry, retry_wait

log = logging.getLogger(__name__)


class Approval(enum.StrEnum):
    """What approving a request came to."""

    APPROVED = "approved"
    DEFERRED = "deferred"
    """Telegram could not take it now: an approval is scheduled (rule 11)."""
    GONE = "gone"
    """Telegram holds no such request any more (an admin handled it, or it was withdrawn)."""
    REFUSED = "refused"
    """Telegram refused (the bot lacks `can_invite_users`): audited, left to the admins."""


@attrs.frozen
class JoinGate:
    """Ends pending join requests and keeps the records and the requester's message in step.

    - An approval Telegram cannot take now (`MessengerUnavailable`) is deferred as a scheduled
      action, never dropped (rule 11); a refusal is audited and the request left to the admins.
    - Ending a request forgets it and cancels its timeout, then turns the private message
      listing what to join into a note of how the request ended (told once; a message Telegram
      no longer lets the bot edit is only logged).
    - A request Telegram no longer holds is forgotten without a word.
    """

    lookups: Lookups
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock

    async def pending(self, group_id: GroupId, user_id: UserId) -> PendingJoinRequest | None:
        """The member's request the gate holds, if any."""
        async with self.uow.begin(group_id) as tx:
            return await tx.join_requests.get(group_id, user_id)

    async def admit_if_complete(self, policy: GroupPolicy, user_id: UserId) -> Approval | None:
        """Rule 6 for requests: approve a pending requester who now joined every channel.

        `None` when the gate holds no request of theirs, or channels are still missing.
        """
        if await self.pending(policy.group_id, user_id) is None:
            return None
        decision = await self.lookups.decision(policy, user_id, fresh=False)
        if decision.restrict:
            return None
        return await self.approve(policy.group_id, user_id, reasons.JOINED_EVERY_CHANNEL)

    async def approve(self, group_id: GroupId, user_id: UserId, reason: str) -> Approval:
        """Approve now, or defer the approval when Telegram cannot take it now."""
        try:
            return await self.approve_now(group_id, user_id, reason)
        except MessengerUnavailable as error:
            now = self.clock.now()
            retry = approval_retry(group_id, user_id, now + retry_wait(0, error.retry_after))
            async with self.uow.begin(group_id) as tx:
                await tx.actions.add(retry)
                await tx.audit.record(
                    AuditEvent.action_failed(
                        group_id, now, user_id, reasons.APPROVAL_DEFERRED.format(error=error)
                    )
                )
                await tx.commit()
            log.warning(
                "join.approve_deferred group=%s user=%s error=%s", group_id, user_id, error
            )
            return Approval.DEFERRED
        except MessengerError as error:
            await self._refused(group_id, user_id, reasons.APPROVAL_REFUSED.format(error=error))
            return Approval.REFUSED

    async def approve_now(self, group_id: GroupId, user_id: UserId, reason: str) -> Approval:
        """Approve now.

        Raises:
            MessengerUnavailable: Telegram could not take it now (the caller defers it).
            MessengerError: Telegram refused.
        """
        try:
            await self.messenger.approve_join_request(group_id, user_id)
        except JoinRequestGone:
            await self._end(group_id, user_id, None)
            return Approval.GONE
        approved = AuditEvent.join_approved(group_id, self.clock.now(), user_id, reason)
        request = await self._end(group_id, user_id, approved)
        await self._tell(request, GateOutcome.APPROVED)
        return Approval.APPROVED

    async def decline_at_timeout(self, group_id: GroupId, user_id: UserId) -> None:
        """The timeout: decline the request if the gate still holds it and channels are missing.

        The requester is checked once more, fresh: one who joined meanwhile (an event the bot
        missed) is approved instead. With protection off the request is left to the admins.

        Raises:
            MessengerUnavailable: Telegram could not take it now (the caller defers it).
            MessengerError: Telegram refused.
        """
        if await self.pending(group_id, user_id) is None:
            return
        policy = (await self.lookups.snapshot(group_id)).protected_policy
        now = self.clock.now()
        if policy is None:
            log.info("join.left_to_admins group=%s user=%s: protection is off", group_id, user_id)
            await self._end(group_id, user_id, None)
            return
        decision = await self.lookups.decision(policy, user_id, fresh=True)
        if not decision.restrict:
            await self.approve_now(group_id, user_id, reasons.JOINED_EVERY_CHANNEL)
            return
        try:
            await self.messenger.decline_join_request(group_id, user_id)
        except JoinRequestGone:
            await self._end(group_id, user_id, None)
            return
        missing = reasons.channel_list(decision.restrict_for)
        declined = AuditEvent.join_declined(
            group_id, now, user_id, reasons.NOT_JOINED_IN_TIME.format(channels=missing)
        )
        request = await self._end(group_id, user_id, declined)
        await self._tell(request, GateOutcome.DECLINED)

    async def _end(
        self, group_id: GroupId, user_id: UserId, event: AuditEvent | None
    ) -> PendingJoinRequest | None:
        """Forget the request and whatever was scheduled for it; record `event`."""
        async with self.uow.begin(group_id) as tx:
            request = await tx.join_requests.get(group_id, user_id)
            await tx.join_requests.delete(group_id, user_id)
            await tx.actions.cancel(group_id, ActionKind.DECLINE_JOIN_REQUEST, user_id)
            await tx.actions.cancel(group_id, ActionKind.APPROVE_JOIN_REQUEST, user_id)
            if event is not None:
                await tx.audit.record(event)
            await tx.commit()
        return request

    async def _refused(self, group_id: GroupId, user_id: UserId, reason: str) -> None:
        log.warning("join.refused group=%s user=%s reason=%s", group_id, user_id, reason)
        async with self.uow.begin(group_id) as tx:
            await tx.audit.record(
                AuditEvent.action_failed(group_id, self.clock.now(), user_id, reason)
            )
            await tx.commit()

    async def _tell(self, request: PendingJoinRequest | None, outcome: GateOutcome) -> None:
        """Turn the requester's private message into how the request ended, if there is one."""
        if request is None or request.message_id is None:
            return
        policy = (await self.lookups.snapshot(request.group_id)).policy
        title = policy.title if policy is not None else ""
        note = GateNote(request.user_chat_id, request.message_id, title, outcome, request.language)
        try:
            await self.messenger.show_gate_note(note)
        except MessengerError as error:
            log.info(
                "join.note_failed group=%s user=%s error=%s",
                request.group_id,
                request.user_id,
                error,
            )
