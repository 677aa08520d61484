"""SendWarnings: rule 11, warnings as durable intents posted by a paced sender (and rule 3's
warning, rule 5's Verify on a merged warning)."""

from datetime import timedelta

from application.errors import BotLacksRights, MessengerUnavailable
from application.use_cases.enforce_membership import Enforcement
from application.use_cases.press_verify import PressVerifyCommand, VerifyOutcome
from application.use_cases.send_warnings import SendReport
from domain.audit import AuditKind
from domain.ids import UserId
from domain.schedule import ActionKind
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


async def mute_without_sending(world: World, *users: UserId) -> None:
    """Members speak; the mutes happen, the warnings stay queued (the sender has not run)."""
    enforce = world.container.enforce_membership()
    for user in users:
        outcome = await enforce.execute(world.message(user))
        assert outcome is Enforcement.RESTRICTED


async def test_rule_11_muting_waits_for_no_message(world: World) -> None:
    await world.protect()
    await mute_without_sending(world, ALICE)

    assert world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.warnings == []  # the warning is an intent, not yet a message
    assert [a.kind for a in await world.pending()] == [ActionKind.SEND_WARNING]


async def test_rule_11_warnings_that_queued_up_are_merged_into_one(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.join(NEWS, BOB)  # Bob misses only TALK; Alice and Carol miss both
    await mute_without_sending(world, ALICE, BOB, CAROL)

    await world.send_pending()

    assert len(world.messenger.warnings) == 1
    warning_id, warning = world.messenger.warnings[0]
    assert [m.user_id for m in warning.members] == [ALICE, BOB, CAROL]
    assert [c.channel_id for c in warning.channels] == [NEWS, TALK]  # the union, in order
    assert warning.is_merged
    for user in (ALICE, BOB, CAROL):
        restriction = await world.restriction(user)
        assert restriction is not None
        assert restriction.warning_message_id == warning_id
    assert (await world.audit_kinds()).count(AuditKind.WARNED) == 3


async def test_rule_11_a_warning_for_a_member_no_longer_muted_is_dropped(world: World) -> None:
    await world.protect()
    await mute_without_sending(world, ALICE, BOB)
    world.join(NEWS, ALICE)
    await world.verify.execute(PressVerifyCommand(GROUP, ALICE, ALICE))  # freed before sending

    await world.send_pending()

    [(_, warning)] = world.messenger.warnings
    assert [m.user_id for m in warning.members] == [BOB]
    assert not warning.is_merged


async def test_rule_11_a_warning_telegram_cannot_take_is_deferred_not_dropped(
    world: World,
) -> None:
    await world.protect()
    world.messenger.fail(
        "send_warning", GROUP, lambda: MessengerUnavailable("flood", retry_after=90.0)
    )
    await mute_without_sending(world, ALICE)

    assert await world.container.send_warnings().execute(GROUP) == SendReport(deferred=1)
    [intent] = await world.pending()
    assert intent.due_at == world.clock.now() + timedelta(seconds=90)  # exactly retry_after
    world.messenger.heal("send_warning", GROUP)
    await world.send_pending()
    assert world.messenger.warnings == []  # not before the wait is over

    world.clock.advance(timedelta(seconds=90))
    await world.send_pending()
    assert len(world.messenger.warnings) == 1
    assert (await world.restriction(ALICE)) is not None


async def test_rule_11_a_refused_warning_is_audited_and_dropped(world: World) -> None:
    await world.protect()
    world.messenger.fail("send_warning", GROUP, lambda: BotLacksRights(GROUP, "send messages"))
    await mute_without_sending(world, ALICE)

    await world.send_pending()

    assert world.messenger.warnings == []
    assert [a.kind for a in await world.pending()] == []
    assert AuditKind.ACTION_FAILED in await world.audit_kinds()


async def test_rule_5_a_merged_warnings_verify_acts_on_the_presser_and_keeps_it_for_others(
    world: World,
) -> None:
    await world.protect()
    await mute_without_sending(world, ALICE, BOB)
    await world.send_pending()
    [(warning_id, _)] = world.messenger.warnings
    world.join(NEWS, ALICE)

    pressed = await world.verify.execute(PressVerifyCommand(GROUP, ALICE, None, warning_id))

    assert pressed.outcome is VerifyOutcome.LIFTED
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.is_restricted(GROUP, BOB)
    assert warning_id not in [m for _, m in world.messenger.deleted]  # Bob's warning too
    world.join(NEWS, BOB)
    world.clock.advance(timedelta(seconds=10))
    await world.verify.execute(PressVerifyCommand(GROUP, BOB, None, warning_id))
    assert (GROUP, warning_id) in world.messenger.deleted  # the last one named: it goes


async def test_rule_5_a_merged_warnings_verify_changes_nothing_for_a_bystander(
    world: World,
) -> None:
    await world.protect()
    await mute_without_sending(world, ALICE, BOB)
    await world.send_pending()
    [(warning_id, _)] = world.messenger.warnings

    pressed = await world.verify.execute(PressVerifyCommand(GROUP, CAROL, None, warning_id))

    assert pressed.outcome is VerifyOutcome.NOT_RESTRICTED_BY_BOT
    assert (GROUP, warning_id) not in world.messenger.deleted
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_a_new_warning_replaces_the_members_previous_one(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    [(first_id, _)] = world.messenger.warnings
    world.clock.advance(timedelta(seconds=30))  # past the settle time: the whole treatment again

    await world.say(ALICE)

    assert len(world.messenger.warnings) == 2
    assert (GROUP, first_id) in world.messenger.deleted
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.warning_message_id == world.messenger.warnings[1][0]


async def test_nothing_due_is_an_idle_round(world: World) -> None:
    assert (await world.container.send_warnings().execute(GROUP)).idle
    await world.protect()
    await mute_without_sending(world, ALICE)
    assert not (await world.container.send_warnings().execute(GROUP)).idle
    assert (await world.container.send_warnings().execute(GROUP)).idle
