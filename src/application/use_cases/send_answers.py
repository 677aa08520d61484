"""Rule 11: the paced sender posts the answers to commands that Telegram could not take at once."""

import logging
import uuid
from datetime import timedelta

import attrs

from application.errors import MessengerError, MessengerUnavailable
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.use_cases.schedule_deletion import REPLY_LIFETIME
from domain.ids import GroupId
from domain.schedule import ActionKind, deletion, worth_reporting

log = logging.getLogger(__name__)

ANSWER_LEASE = timedelta(seconds=30)
"""How long a claimed intent is held while its answer is sent (a paced send may wait)."""
_KINDS = frozenset({ActionKind.SEND_ANSWER})


@attrs.frozen
class AnswerReport:
    """What one round in a group came to."""

    sent: int = 0
    dropped: int = 0
    """Intents that ended unsent: malformed, or refused by Telegram."""
    deferred: int = 0
    """Intents Telegram could still not take: they run again later."""

    @property
    def idle(self) -> bool:
        """Nothing was due."""
        return not (self.sent or self.dropped or self.deferred)


@attrs.frozen
class SendAnswers:
    """Rule 11: a deferred answer is sent when due, before the group's warnings, never lost.

    - An answer `AnswerInGroup` could not send is retried after `retry_after` or a backoff, for
      as long as Telegram cannot take it; a refusal ends it, logged.
    - Once sent, the answer and its command are deleted after `REPLY_LIFETIME`, as when sent
      at once.
    """

    messenger: Messenger
    uow: UnitOfWork
    clock: Clock

    async def execute(self, group_id: GroupId) -> AnswerReport:
        """Post the group's earliest due answer, if any."""
        async with self.uow.begin(group_id) as tx:
            claimed = await tx.actions.claim_due(
                group_id, self.clock.now(), ANSWER_LEASE, 1, _KINDS
            )
            await tx.commit()
        if not claimed:
            return AnswerReport()
        intent = claimed[0]
        if intent.answer is None:  # malformed: nothing to say
            await self._finish(group_id, intent.action_id)
            return AnswerReport(dropped=1)
        try:
            sent = await self.messenger.send_answer(group_id, intent.answer)
        except MessengerUnavailable as error:
            failures = intent.attempts + 1
            later = intent.deferred(self.clock.now(), error.retry_after)
            async with self.uow.begin(group_id) as tx:
                await tx.actions.reschedule(later)
                await tx.commit()
            level = logging.WARNING if worth_reporting(failures) else logging.DEBUG
            log.log(
                level, "answer.deferred group=%s failures=%s error=%s", group_id, failures, error
            )
            return AnswerReport(deferred=1)
        except MessengerError as error:
            log.warning("answer.refused group=%s error=%s", group_id, error)
            await self._finish(group_id, intent.action_id)
            return AnswerReport(dropped=1)
        due_at = self.clock.now() + REPLY_LIFETIME
        async with self.uow.begin(group_id) as tx:
            await tx.actions.complete(group_id, intent.action_id)
            for message_id in (intent.message_id, sent):
                if message_id is not None:
                    await tx.actions.add(deletion(group_id, message_id, due_at))
            await tx.commit()
        log.info("answer.sent group=%s attempts=%s", group_id, intent.attempts + 1)
        return AnswerReport(sent=1)

    async def _finish(self, group_id: GroupId, action_id: uuid.UUID) -> None:
        async with self.uow.begin(group_id) as tx:
            await tx.actions.complete(group_id, action_id)
            await tx.commit()
