"""Rule 12: a muted member can always learn why and what to do, from the private chat."""

from datetime import timedelta

from application.use_cases.press_verify import PressVerifyCommand, VerifyOutcome
from domain.membership import MemberStatus
from tests.unit.world import (
    ADMIN,
    ALICE,
    BOB,
    GROUP,
    NEWS,
    OTHER_GROUP,
    TALK,
    TALK_CHANNEL,
    World,
)


async def test_rule_12_every_group_where_the_bot_muted_the_member_with_what_to_join(
    world: World,
) -> None:
    await world.protect(TALK_CHANNEL, group=OTHER_GROUP)
    await world.protect()
    await world.say(ALICE, group=OTHER_GROUP)
    world.clock.advance(timedelta(minutes=1))
    await world.say(ALICE)
    await world.say(BOB)

    muted = await world.my_mutes.execute(ALICE)

    assert [(m.policy.group_id, [c.channel_id for c in m.missing]) for m in muted] == [
        (OTHER_GROUP, [TALK]),  # the longest muted first
        (GROUP, [NEWS]),
    ]
    assert await world.my_mutes.execute(ADMIN) == ()


async def test_rule_12_an_admins_mute_and_an_unprotected_group_are_not_listed(
    world: World,
) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    await world.say(ALICE)
    await world.say(ALICE, group=OTHER_GROUP)
    await world.disable(OTHER_GROUP)  # protection off: not the bot's to explain any more
    world.messenger.set_status(GROUP, BOB, MemberStatus.RESTRICTED)  # an admin's mute

    assert [m.policy.group_id for m in await world.my_mutes.execute(ALICE)] == [GROUP]
    assert await world.my_mutes.execute(BOB) == ()


async def test_rule_12_verify_from_the_private_chat_lifts_only_the_pressers_own_mute(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    await world.say(BOB)
    world.join(NEWS, ALICE, BOB)

    # the private button names the group; the press acts on the presser alone
    result = await world.verify.execute(PressVerifyCommand(GROUP, ALICE, ALICE))

    assert result.outcome is VerifyOutcome.LIFTED
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.is_restricted(GROUP, BOB)
    assert await world.my_mutes.execute(ALICE) == ()
    forged = await world.verify.execute(PressVerifyCommand(OTHER_GROUP, ALICE, ALICE))
    assert forged.outcome is VerifyOutcome.NOT_RESTRICTED_BY_BOT
