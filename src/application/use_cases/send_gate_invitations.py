"""Rules 11 and 14: the paced sender tells requesters in private what to join."""

import logging
from datetime import timedelta

import attrs

from application.errors import MessengerError, MessengerUnavailable
from application.intents import RoundReport, claim_one, complete, defer
from application.join_gate import JoinGate
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.messenger import GateInvitation, Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import GroupId
from domain.schedule import ActionKind, ScheduledAction, worth_reporting

log = logging.getLogger(__name__)

INVITATION_LEASE = timedelta(seconds=30)
"""How long a claimed intent is held while its message is sent (a paced send may wait)."""
_KINDS = frozenset({ActionKind.SEND_GATE_INVITATION})


@attrs.frozen
class SendGateInvitations:
    """Rule 14's private message, sent by the paced sender (rule 11), answers before warnings.

    - Holding a request never waits on Telegram (`OnJoinRequest` stores the intent with it);
      this sends the message when the send budget allows, so a burst of requests never holds
      up the handling of others (a subscriber's approval among them).
    - It lists the channels missing at sending time; a requester who has joined them all
      meanwhile is approved instead. An intent whose request has ended is dropped.
    - A message Telegram could not take now is tried again after `retry_after` or a backoff;
      a refusal (privacy, a blocked bot, the 5-minute window over) leaves the request pending
      until its timeout, and the audit trail says why.
    """

    lookups: Lookups
    gate: JoinGate
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock

    async def execute(self, group_id: GroupId) -> RoundReport:
        """Send the group's earliest due invitation, if any."""
        now = self.clock.now()
        intent = await claim_one(self.uow, group_id, _KINDS, now, INVITATION_LEASE)
        if intent is None:
            return RoundReport()
        invitation = await self._invitation(intent)
        if invitation is None:
            await complete(self.uow, intent)
            return RoundReport(dropped=1)
        try:
            message_id = await self.messenger.send_gate_invitation(invitation)
        except MessengerUnavailable as error:
            await self._defer(intent, error)
            return RoundReport(deferred=1)
        except MessengerError as error:
            await self._refused(intent, invitation, error)
            return RoundReport(dropped=1)
        async with self.uow.begin(group_id) as tx:
            if intent.user_id is not None:
                current = await tx.join_requests.get(group_id, intent.user_id)
                if current is not None:  # else approved meanwhile (the last channel joined)
                    await tx.join_requests.save(current.messaged(message_id))
            await tx.actions.complete(group_id, intent.action_id)
            await tx.commit()
        return RoundReport(sent=1)

    async def _invitation(self, intent: ScheduledAction) -> GateInvitation | None:
        """What to send; `None` when the request has ended or needs no message any more."""
        group_id, user_id = intent.group_id, intent.user_id
        if user_id is None:
            return None
        request = await self.gate.pending(group_id, user_id)
        policy = (await self.lookups.snapshot(group_id)).protected_policy
        if request is None or request.message_id is not None or policy is None:
            return None
        decision = await self.lookups.decision(policy, user_id, fresh=False)
        if not decision.restrict:
            await self.gate.approve(group_id, user_id, reasons.JOINED_EVERY_CHANNEL)
            return None
        return GateInvitation(
            request.user_chat_id,
            group_id,
            policy.title,
            policy.channels_of(decision.restrict_for),
            policy.settings.join_gate_timeout,
            request.language,
        )

    async def _defer(self, intent: ScheduledAction, error: MessengerUnavailable) -> None:
        failures = intent.attempts + 1
        await defer(self.uow, intent, self.clock.now(), error)
        level = logging.WARNING if worth_reporting(failures) else logging.DEBUG
        log.log(
            level,
            "invitation.deferred group=%s user=%s failures=%s error=%s",
            intent.group_id,
            intent.user_id,
            failures,
            error,
        )

    async def _refused(
        self, intent: ScheduledAction, invitation: GateInvitation, error: MessengerError
    ) -> None:
        group_id = intent.group_id
        pending = (
            reasons.INVITATION_FAILED_UNTIL_TIMEOUT
            if invitation.timeout is not None
            else reasons.INVITATION_FAILED_UNTIL_ADMINS
        )
        reason = pending.format(error=error)
        log.info("invitation.refused group=%s user=%s error=%s", group_id, intent.user_id, error)
        async with self.uow.begin(group_id) as tx:
            await tx.actions.complete(group_id, intent.action_id)
            await tx.audit.record(
                AuditEvent.action_failed(group_id, self.clock.now(), intent.user_id, reason)
            )
            await tx.commit()
