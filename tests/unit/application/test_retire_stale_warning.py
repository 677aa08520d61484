"""RetireStaleWarning: rule 11, a warning no member holds as theirs goes when somebody touches it
(the orphan of a send that timed out but was delivered)."""

from datetime import datetime, timedelta

from application.use_cases.press_verify import PressVerifyCommand, VerifyOutcome
from application.use_cases.retire_stale_warning import STALE_AFTER, StaleWarningCommand
from domain.ids import MessageId, UserId
from tests.unit.world import ALICE, BOB, CAROL, GROUP, NEWS, World

ORPHAN = MessageId(999)
"""A warning the bot posted without learning its id (the send timed out, then went through)."""


def long_ago(world: World) -> datetime:
    return world.clock.now() - STALE_AFTER - timedelta(seconds=1)


async def muted_and_warned(world: World, *users: UserId) -> MessageId:
    """The members speak and are muted; their (merged) warning is posted; its id."""
    await world.protect()
    for user in users:
        await world.say(user)
    warning_id, _ = world.messenger.warnings[-1]
    world.messenger.deleted.clear()  # the members' messages
    return warning_id


def press(
    world: World, presser: UserId, message_id: MessageId, *, owner: UserId | None, old: bool = True
) -> PressVerifyCommand:
    posted_at = long_ago(world) if old else world.clock.now() - timedelta(seconds=1)
    return PressVerifyCommand(GROUP, presser, owner, message_id, posted_at)


async def test_rule_11_a_press_on_an_orphan_acts_on_the_presser_then_deletes_the_orphan(
    world: World,
) -> None:
    current = await muted_and_warned(world, ALICE)

    result = await world.verify.execute(press(world, ALICE, ORPHAN, owner=ALICE))

    assert result.outcome is VerifyOutcome.STILL_MISSING  # the press acted on Alice as usual
    assert (GROUP, ORPHAN) in world.messenger.deleted
    assert (GROUP, current) not in world.messenger.deleted
    assert world.messenger.is_restricted(GROUP, ALICE)
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.warning_message_id == current


async def test_rule_11_anyones_press_on_an_orphan_deletes_it_and_changes_nothing_else(
    world: World,
) -> None:
    await muted_and_warned(world, ALICE)

    not_yours = await world.verify.execute(press(world, BOB, ORPHAN, owner=ALICE))
    not_muted = await world.verify.execute(press(world, CAROL, ORPHAN, owner=None))

    assert not_yours.outcome is VerifyOutcome.NOT_YOURS
    assert not_muted.outcome is VerifyOutcome.NOT_RESTRICTED_BY_BOT
    assert world.messenger.deleted == [(GROUP, ORPHAN), (GROUP, ORPHAN)]  # gone: harmless
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_11_a_press_on_a_current_warning_deletes_nothing(world: World) -> None:
    alone = await muted_and_warned(world, ALICE)

    result = await world.verify.execute(press(world, BOB, alone, owner=ALICE))

    assert result.outcome is VerifyOutcome.NOT_YOURS
    assert world.messenger.deleted == []


async def test_rule_11_a_merged_warning_stays_while_it_warns_anyone(world: World) -> None:
    await world.protect()
    enforce = world.container.enforce_membership()
    for user in (ALICE, BOB):
        await enforce.execute(world.message(user))
    await world.send_pending()
    [(merged, warning)] = world.messenger.warnings
    assert warning.is_merged
    world.join(NEWS, ALICE)

    lifted = await world.verify.execute(press(world, ALICE, merged, owner=None))
    stranger = await world.verify.execute(press(world, CAROL, merged, owner=None))

    assert lifted.outcome is VerifyOutcome.LIFTED
    assert stranger.outcome is VerifyOutcome.NOT_RESTRICTED_BY_BOT
    assert (GROUP, merged) not in world.messenger.deleted  # it still warns Bob


async def test_rule_11_a_warning_posted_moments_ago_is_left_to_the_sender(world: World) -> None:
    """The sender may have posted it and not yet recorded whom it warns."""
    await muted_and_warned(world, ALICE)

    result = await world.verify.execute(press(world, BOB, ORPHAN, owner=ALICE, old=False))

    assert result.outcome is VerifyOutcome.NOT_YOURS
    assert world.messenger.deleted == []


async def test_rule_11_a_press_on_a_message_the_bot_did_not_post_deletes_nothing(
    world: World,
) -> None:
    await muted_and_warned(world, ALICE)

    result = await world.verify.execute(PressVerifyCommand(GROUP, BOB, ALICE, ORPHAN, None))

    assert result.outcome is VerifyOutcome.NOT_YOURS
    assert world.messenger.deleted == []


async def test_rule_11_a_reply_to_a_stale_warning_deletes_it_and_to_a_current_one_does_not(
    world: World,
) -> None:
    current = await muted_and_warned(world, ALICE)
    retire = world.container.retire_stale_warning()

    kept = await retire.execute(StaleWarningCommand(GROUP, current, long_ago(world)))
    retired = await retire.execute(StaleWarningCommand(GROUP, ORPHAN, long_ago(world)))

    assert (kept, retired) == (False, True)
    assert world.messenger.deleted == [(GROUP, ORPHAN)]
