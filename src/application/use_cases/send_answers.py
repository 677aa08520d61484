"""Rule 11: the paced sender posts the answers to commands that Telegram could not take at once."""

import logging
from datetime import timedelta

import attrs

from application.errors import MessengerError, MessengerUnavailable
from application.intents import RoundReport, claim_one, complete, defer
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

    async def execute(self, group_id: GroupId) -> RoundReport:
        """Post the group's earliest due answer, if any."""
        intent = await claim_one(self.uow, group_id, _KINDS, self.clock.now(), ANSWER_LEASE)
        if intent is None:
            return RoundReport()
        if intent.answer is None:  # malformed: nothing to say
            await complete(self.uow, intent)
            return RoundReport(dropped=1)
        try:
            sent = await self.messenger.send_answer(group_id, intent.answer)
        except MessengerUnavailable as error:
            failures = intent.attempts + 1
            await defer(self.uow, intent, self.clock.now(), error)
            level = logging.WARNING if worth_reporting(failures) else logging.DEBUG
            log.log(
                level, "answer.deferred group=%s failures=%s error=%s", group_id, failures, error
            )
            return RoundReport(deferred=1)
        except MessengerError as error:
            log.warning("answer.refused group=%s error=%s", group_id, error)
            await complete(self.uow, intent)
            return RoundReport(dropped=1)
        due_at = self.clock.now() + REPLY_LIFETIME
        async with self.uow.begin(group_id) as tx:
            await tx.actions.complete(group_id, intent.action_id)
            for message_id in (intent.message_id, sent):
                if message_id is not None:
                    await tx.actions.add(deletion(group_id, message_id, due_at))
            await tx.commit()
        log.info("answer.sent group=%s attempts=%s", group_id, intent.attempts + 1)
        return RoundReport(sent=1)
