"""Rule 11: answer a command in its group at once, or later if Telegram cannot take it now."""

import logging

import attrs

from application.errors import MessengerError, MessengerUnavailable
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.use_cases.schedule_deletion import REPLY_LIFETIME
from domain.answers import Answer
from domain.ids import GroupId, MessageId
from domain.schedule import answer_intent, deletion, retry_wait

log = logging.getLogger(__name__)


@attrs.frozen
class AnswerCommand:
    """Answer `command_id` (deleted with the answer, when given) in the group."""

    group_id: GroupId
    answer: Answer
    command_id: MessageId | None = None


@attrs.frozen
class AnswerInGroup:
    """Rules 10 and 11: an answer to a person goes out at once, ahead of warnings, never lost.

    - The answer is sent at once, first in the group's send queue (answers before warnings and
      notices); the answer and the command are deleted after `REPLY_LIFETIME`.
    - An answer Telegram could not take (network, 5xx, 429 past the budget) becomes a durable
      intent the paced sender sends after `retry_after` or a backoff (`SendAnswers`): deferred,
      never dropped. A refusal (the bot cannot write there) is logged and ends it.
    - A stop or crash before the answer went out leaves the update unhandled in the intake
      journal: the command runs again after the restart (commands are idempotent) and answers.
    """

    messenger: Messenger
    uow: UnitOfWork
    clock: Clock

    async def execute(self, command: AnswerCommand) -> MessageId | None:
        """Send the answer; return its id, or None when it was deferred or refused."""
        group_id, command_id = command.group_id, command.command_id
        try:
            sent = await self.messenger.send_answer(group_id, command.answer)
        except MessengerUnavailable as error:
            now = self.clock.now()
            later = answer_intent(
                group_id, command.answer, command_id, now + retry_wait(0, error.retry_after)
            )
            async with self.uow.begin(group_id) as tx:
                await tx.actions.add(later)
                await tx.commit()
            log.warning(
                "answer.deferred group=%s retry_at=%s error=%s", group_id, later.due_at, error
            )
            return None
        except MessengerError as error:
            log.warning("answer.refused group=%s error=%s", group_id, error)
            return None
        due_at = self.clock.now() + REPLY_LIFETIME
        async with self.uow.begin(group_id) as tx:
            for message_id in (command_id, sent):
                if message_id is not None:
                    await tx.actions.add(deletion(group_id, message_id, due_at))
            await tx.commit()
        return sent
