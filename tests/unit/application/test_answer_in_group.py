"""AnswerInGroup and SendAnswers: rule 11, an answer to a command goes out at once, ahead of the
group's warnings, and one Telegram cannot take now is deferred, never dropped."""

from datetime import timedelta

from application.errors import BotLacksRights, MessengerUnavailable
from application.use_cases.answer_in_group import AnswerCommand
from application.use_cases.schedule_deletion import REPLY_LIFETIME
from domain.answers import Answer
from domain.ids import MessageId
from domain.schedule import ActionKind, ScheduledAction
from tests.unit.world import CAROL, GROUP, World

STATUS = Answer("<b>Protection is on</b>", '{"inline_keyboard": []}', thread_id=7)
COMMAND = MessageId(41)


async def kinds(world: World) -> list[ActionKind]:
    return sorted(a.kind for a in await world.pending())


async def answers(world: World) -> list[ScheduledAction]:
    return [a for a in await world.pending() if a.kind is ActionKind.SEND_ANSWER]


async def test_rule_11_an_answer_goes_out_at_once_and_is_deleted_with_its_command_later() -> None:
    world = World()
    await world.protect()

    sent = await world.answer.execute(AnswerCommand(GROUP, STATUS, COMMAND))

    assert world.messenger.answers == [(sent, STATUS)]
    deletions = [a for a in await world.pending() if a.kind is ActionKind.DELETE_MESSAGE]
    assert {a.message_id for a in deletions} == {sent, COMMAND}
    assert {a.due_at for a in deletions} == {world.clock.now() + REPLY_LIFETIME}


async def test_rule_11_an_answer_telegram_cannot_take_is_deferred_then_sent() -> None:
    world = World()
    await world.protect()
    world.messenger.fail("send_answer", GROUP, lambda: MessengerUnavailable("429", 30.0))

    sent = await world.answer.execute(AnswerCommand(GROUP, STATUS, COMMAND))

    assert sent is None
    (intent,) = await answers(world)
    assert intent.answer == STATUS
    assert intent.message_id == COMMAND
    assert intent.due_at == world.clock.now() + timedelta(seconds=30)
    await world.send_pending()  # not due yet
    assert world.messenger.answers == []

    world.clock.advance(timedelta(seconds=30))
    await world.send_pending()  # still failing: deferred again, kept
    (again,) = await answers(world)
    assert again.attempts == 1

    world.messenger.heal("send_answer", GROUP)
    world.clock.advance(timedelta(minutes=5))
    await world.send_pending()
    ((message_id, said),) = world.messenger.answers
    assert said == STATUS
    assert await answers(world) == []
    deletions = [a for a in await world.pending() if a.kind is ActionKind.DELETE_MESSAGE]
    assert {a.message_id for a in deletions} == {message_id, COMMAND}


async def test_an_answer_telegram_refuses_is_dropped_not_retried() -> None:
    world = World()
    await world.protect()
    world.messenger.fail("send_answer", GROUP, lambda: BotLacksRights(GROUP, "send messages"))

    assert await world.answer.execute(AnswerCommand(GROUP, STATUS, COMMAND)) is None

    assert await answers(world) == []


async def test_rule_11_deferred_answers_go_before_the_groups_warnings() -> None:
    world = World()
    await world.protect()
    world.messenger.fail("send_answer", GROUP, lambda: MessengerUnavailable("down", 1.0))
    await world.answer.execute(AnswerCommand(GROUP, STATUS, COMMAND))
    world.messenger.heal("send_answer", GROUP)
    world.clock.advance(timedelta(seconds=1))
    mark = len(world.messenger.calls)
    await world.on_message.execute(await world.say(CAROL))

    sends = {"send_answer", "send_warning"}
    order = [c[0] for c in world.messenger.calls[mark:] if c[0] in sends]
    assert order == ["send_answer", "send_warning"]
