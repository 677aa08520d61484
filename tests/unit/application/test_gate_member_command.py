"""Members cannot make the bot talk (issue 11, point 6): their commands go, answers are rare."""

from datetime import timedelta

from application.errors import MessengerUnavailable
from application.use_cases.gate_member_command import ANSWER_COOLDOWN, MemberCommand
from domain.ids import MessageId
from tests.unit.world import ALICE, BOB, GROUP, OTHER_GROUP, World


async def test_a_members_commands_are_deleted_and_answered_once_per_cooldown(
    world: World,
) -> None:
    gate = world.member_command
    answered = [await gate.execute(MemberCommand(GROUP, BOB, MessageId(n))) for n in range(1, 6)]
    assert answered == [True, False, False, False, False]
    assert world.messenger.deleted == [(GROUP, MessageId(n)) for n in range(1, 6)]

    # another member, another group: their own answer
    assert await gate.execute(MemberCommand(GROUP, ALICE, MessageId(10)))
    assert await gate.execute(MemberCommand(OTHER_GROUP, BOB, MessageId(11)))

    world.clock.advance(ANSWER_COOLDOWN - timedelta(seconds=1))
    assert not await gate.execute(MemberCommand(GROUP, BOB, MessageId(12)))
    world.clock.advance(timedelta(seconds=1))
    assert await gate.execute(MemberCommand(GROUP, BOB, MessageId(13)))


async def test_a_command_telegram_will_not_delete_is_still_gated(world: World) -> None:
    world.messenger.fail("delete_message", GROUP, lambda: MessengerUnavailable("timeout"))
    assert await world.member_command.execute(MemberCommand(GROUP, BOB, MessageId(1)))
    assert not await world.member_command.execute(MemberCommand(GROUP, BOB, MessageId(2)))
    assert world.messenger.deleted == []  # Telegram refused: nothing deleted, nothing raised
