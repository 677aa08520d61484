"""Rule 5: the Verify button."""

from datetime import timedelta

from application.errors import MessengerUnavailable
from application.use_cases.press_verify import PressVerifyCommand, VerifyOutcome
from domain.audit import AuditKind
from domain.ids import MessageId, UserId
from domain.membership import MemberStatus
from tests.unit.world import (
    ALICE,
    BOB,
    CAROL,
    GROUP,
    NEWS,
    NEWS_CHANNEL,
    TALK,
    TALK_CHANNEL,
    World,
)


def press(presser: UserId, owner: UserId | None = None) -> PressVerifyCommand:
    return PressVerifyCommand(GROUP, presser, owner if owner is not None else presser)


async def test_rule_5_a_member_who_joined_everything_is_unmuted_and_their_warning_removed(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    warning_id = world.messenger.warnings[0][0]
    world.join(NEWS, ALICE)

    result = await world.verify.execute(press(ALICE))

    assert result.outcome is VerifyOutcome.LIFTED
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert (GROUP, warning_id) in world.messenger.deleted
    assert await world.restriction(ALICE) is None
    assert (await world.audit())[-1].kind is AuditKind.UNMUTED


async def test_rule_5_pressed_before_joining_the_member_stays_muted_and_is_told_what_is_missing(
    world: World,
) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    await world.say(ALICE)
    world.join(NEWS, ALICE)

    result = await world.verify.execute(press(ALICE))

    assert result.outcome is VerifyOutcome.STILL_MISSING
    assert result.missing == (TALK_CHANNEL,)
    assert world.messenger.is_restricted(GROUP, ALICE)
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.missing == (TALK,)


async def test_design_9_someone_elses_press_changes_nothing_for_anyone(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    await world.say(BOB)
    world.join(NEWS, ALICE, BOB)
    calls = len(world.messenger.calls)

    result = await world.verify.execute(press(BOB, owner=ALICE))

    assert result.outcome is VerifyOutcome.NOT_YOURS
    assert world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.is_restricted(GROUP, BOB)
    assert len(world.messenger.calls) == calls  # no check, no lift, no deletion
    assert await world.restriction(ALICE) is not None


async def test_design_9_a_manual_mute_survives_a_verify_press(world: World) -> None:
    """A user muted by an admin (not by the bot) stays muted after pressing Verify."""
    await world.protect()
    world.join(NEWS, CAROL)
    world.messenger.set_status(GROUP, CAROL, MemberStatus.RESTRICTED, is_member=True)

    result = await world.verify.execute(press(CAROL))

    assert result.outcome is VerifyOutcome.NOT_RESTRICTED_BY_BOT
    assert world.messenger.is_restricted(GROUP, CAROL)
    assert world.messenger.calls_of("unrestrict") == []


async def test_rule_5_the_check_is_fresh_not_from_the_cache(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    world.join(NEWS, ALICE)
    await world.memberships.store_membership(
        NEWS, ALICE, await world.messenger.membership(NEWS, ALICE)
    )
    world.leave(NEWS, ALICE)  # the cache says member, Telegram says left

    result = await world.verify.execute(press(ALICE))

    assert result.outcome is VerifyOutcome.STILL_MISSING
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_5_presses_are_throttled_per_member(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    await world.say(BOB)
    assert (await world.verify.execute(press(ALICE))).outcome is VerifyOutcome.STILL_MISSING
    checks = len(world.messenger.calls_of("membership"))

    assert (await world.verify.execute(press(ALICE))).outcome is VerifyOutcome.THROTTLED
    assert len(world.messenger.calls_of("membership")) == checks
    assert (await world.verify.execute(press(BOB))).outcome is VerifyOutcome.STILL_MISSING

    world.clock.advance(timedelta(seconds=5))
    assert (await world.verify.execute(press(ALICE))).outcome is VerifyOutcome.STILL_MISSING


async def test_a_press_after_unprotect_lifts_the_bots_mute(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    await world.disable()
    assert (await world.verify.execute(press(ALICE))).outcome is VerifyOutcome.LIFTED


async def test_when_telegram_refuses_the_lift_the_member_is_told_and_nothing_is_lost(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    world.join(NEWS, ALICE)
    world.messenger.fail("unrestrict", GROUP, lambda: MessengerUnavailable("timeout"))
    assert (await world.verify.execute(press(ALICE))).outcome is VerifyOutcome.UNAVAILABLE
    assert await world.restriction(ALICE) is not None


async def test_rule_5_the_pressed_warning_is_removed_even_if_not_yet_remembered(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    remembered = world.messenger.warnings[0][0]
    world.join(NEWS, ALICE)
    pressed = MessageId(remembered + 100)  # e.g. a warning whose id was not yet stored

    result = await world.verify.execute(PressVerifyCommand(GROUP, ALICE, ALICE, pressed))

    assert result.outcome is VerifyOutcome.LIFTED
    assert {(GROUP, remembered), (GROUP, pressed)} <= set(world.messenger.deleted)
