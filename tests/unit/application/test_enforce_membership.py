"""EnforceMembership: rule 3 on the message path, with rules 4, 8, 9 and the DESIGN §5 hot path."""

import asyncio
import logging
from datetime import timedelta

import attrs
import pytest

from adapters.memory.messenger import InMemoryMessenger
from application.errors import BotLacksRights, MessengerUnavailable
from application.restrictions import MUTE_SETTLE
from application.use_cases.enforce_membership import Enforcement
from application.use_cases.press_verify import PressVerifyCommand, VerifyOutcome
from application.use_cases.unprotect_group import UnprotectCommand
from domain.audit import AuditKind
from domain.ids import (
    ANONYMOUS_ADMIN_BOT,
    CHANNEL_BOT,
    SERVICE_NOTIFICATIONS,
    GroupId,
    MessageId,
    UserId,
)
from domain.membership import Membership, MemberStatus
from domain.notices import NoticeKind
from domain.policy import FailurePolicy, GroupSettings
from domain.restriction import WarningReason
from domain.schedule import ActionKind
from tests.unit.world import (
    ADMIN,
    ALICE,
    AS_ADMIN,
    BOB,
    BOT,
    GROUP,
    NEWS,
    NEWS_CHANNEL,
    OWNER,
    TALK,
    TALK_CHANNEL,
    World,
)


async def test_rule_3_a_member_missing_channels_is_muted_message_deleted_and_warned(
    world: World,
) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.join(NEWS, ALICE)
    command = world.message(ALICE, name="Alice")

    outcome = await world.on_message.execute(command)

    assert outcome is Enforcement.RESTRICTED
    assert world.messenger.is_restricted(GROUP, ALICE)
    assert (GROUP, command.message_id) in world.messenger.deleted
    [(_, warning)] = world.messenger.warnings
    assert warning.member.user_id == ALICE
    assert warning.member.name == "Alice"
    assert warning.channels == (TALK_CHANNEL,)
    assert warning.reason is WarningReason.SPOKE


async def test_rule_3_the_warning_lists_every_missing_channel(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    await world.say(ALICE)
    [(_, warning)] = world.messenger.warnings
    assert warning.channels == (NEWS_CHANNEL, TALK_CHANNEL)


async def test_rule_3_the_bot_remembers_whom_it_restricted_and_why(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.join(TALK, ALICE)
    await world.say(ALICE)
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.missing == (NEWS,)
    assert restriction.since == world.clock.now()
    assert restriction.warning_message_id == world.messenger.warnings[0][0]


async def test_rule_3_warnings_auto_delete_after_the_configured_time(world: World) -> None:
    await world.protect(settings=GroupSettings(warning_ttl=timedelta(seconds=30)))
    await world.say(ALICE)
    warning_id = world.messenger.warnings[0][0]
    [deletion] = await world.pending()
    assert deletion.kind is ActionKind.DELETE_MESSAGE
    assert deletion.message_id == warning_id
    assert deletion.due_at == world.clock.now() + timedelta(seconds=30)

    await world.run_due(timedelta(seconds=29))
    assert (GROUP, warning_id) not in world.messenger.deleted
    await world.run_due(timedelta(seconds=1))
    assert (GROUP, warning_id) in world.messenger.deleted


async def test_rule_3_the_warning_goes_to_the_forum_topic_of_the_message(world: World) -> None:
    await world.protect()
    await world.on_message.execute(world.message(ALICE, thread_id=77))
    assert world.messenger.warnings[0][1].thread_id == 77


async def test_a_subscribed_member_passes(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.join(NEWS, ALICE)
    world.join(TALK, ALICE)
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.ALLOWED
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.deleted == []


async def test_design_5_hot_path_costs_no_telegram_call_and_no_transaction(world: World) -> None:
    """DESIGN §9: the old bot made one uncached getChatMember per message (admin check)."""
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.join(NEWS, ALICE)
    world.join(TALK, ALICE)
    await world.say(ALICE)  # warms the caches
    calls, transactions = len(world.messenger.calls), world.uow.transactions

    for _ in range(50):
        assert await world.on_message.execute(world.message(ALICE)) is Enforcement.ALLOWED

    assert len(world.messenger.calls) == calls
    assert world.uow.transactions == transactions


async def test_design_5_the_group_policy_is_read_once_not_per_message(world: World) -> None:
    await world.protect()
    world.join(NEWS, ALICE, BOB)
    before = world.uow.transactions
    for user in (ALICE, BOB, ALICE, BOB):
        await world.say(user)
    assert world.uow.transactions == before + 1


async def test_messages_in_an_unprotected_group_cost_no_telegram_call(world: World) -> None:
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.NOT_PROTECTED
    assert world.messenger.calls == []


async def test_rule_4_admins_are_never_restricted_and_the_admin_set_is_cached(
    world: World,
) -> None:
    await world.protect()
    for user in (OWNER, ADMIN, OWNER):
        assert await world.on_message.execute(world.message(user)) is Enforcement.EXEMPT
    assert len(world.messenger.calls_of("admins")) == 1
    assert world.messenger.calls_of("membership") == []
    assert world.messenger.calls_of("restrict") == []


async def test_rule_4_anonymous_admins_linked_channel_and_own_channel_posts_pass(
    world: World,
) -> None:
    await world.protect()
    for command in (
        world.message(ANONYMOUS_ADMIN_BOT, is_bot=True, sender_chat_id=GROUP),
        world.message(SERVICE_NOTIFICATIONS, sender_chat_id=-100777, is_automatic_forward=True),
        world.message(CHANNEL_BOT, is_bot=True, sender_chat_id=NEWS),
        world.message(BOT, is_bot=True),
    ):
        assert await world.on_message.execute(command) is Enforcement.EXEMPT
    assert world.messenger.deleted == []
    assert world.messenger.calls_of("restrict") == []


async def test_rule_4_exempt_members_pass(world: World) -> None:
    await world.protect()
    async with world.uow.begin(GROUP) as tx:
        await tx.exemptions.add(GROUP, ALICE)
        await tx.commit()
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.EXEMPT


async def test_a_post_sent_as_a_foreign_channel_is_deleted_and_audited(world: World) -> None:
    await world.protect()
    command = world.message(CHANNEL_BOT, is_bot=True, sender_chat_id=-100999)
    assert await world.on_message.execute(command) is Enforcement.FOREIGN_POST_DELETED
    assert world.messenger.deleted == [(GROUP, command.message_id)]
    assert world.messenger.calls_of("restrict") == []
    assert await world.audit_kinds() == [AuditKind.MESSAGE_DELETED]


async def test_rule_8_open_policy_lets_the_message_through_when_telegram_fails(
    world: World,
) -> None:
    """DESIGN §9: any Telegram error used to mute the member."""
    await world.protect()
    world.messenger.fail("membership", NEWS, lambda: BotLacksRights(NEWS, "member list"))

    outcome = await world.on_message.execute(world.message(ALICE))

    assert outcome is Enforcement.ALLOWED_UNVERIFIED
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.deleted == []


async def test_rule_8_admins_are_told_once_and_the_failure_is_audited_once(world: World) -> None:
    await world.protect()
    world.messenger.fail("membership", NEWS, lambda: MessengerUnavailable("timeout"))
    for user in (ALICE, BOB, ALICE):
        await world.say(user)
    assert [n.kind for n in world.messenger.notices] == [NoticeKind.CHECKS_FAILING]
    assert world.messenger.notices[0].channel == NEWS_CHANNEL
    assert await world.audit_kinds() == [AuditKind.CHECK_FAILED]


async def test_rule_8_failed_checks_are_not_cached(world: World) -> None:
    await world.protect()
    world.messenger.fail("membership", NEWS, lambda: MessengerUnavailable("timeout"))
    await world.say(ALICE)
    world.messenger.heal("membership", NEWS)
    await world.say(ALICE)
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_8_closed_policy_mutes_when_telegram_fails(world: World) -> None:
    await world.protect(settings=GroupSettings(failure_policy=FailurePolicy.CLOSED))
    world.messenger.fail("membership", NEWS, lambda: MessengerUnavailable("timeout"))
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.RESTRICTED
    assert world.messenger.warnings[0][1].channels == (NEWS_CHANNEL,)


async def test_unknown_admin_set_lets_the_message_through(world: World) -> None:
    await world.protect()
    world.messenger.fail("admins", GROUP, lambda: MessengerUnavailable("timeout"))
    assert await world.on_message.execute(world.message(ADMIN)) is Enforcement.ALLOWED_UNVERIFIED
    assert world.messenger.deleted == []


async def test_rule_9_a_mute_is_audited_and_a_passing_message_is_not(world: World) -> None:
    await world.protect()
    world.join(NEWS, BOB)
    await world.say(BOB)
    assert await world.audit() == []

    await world.say(ALICE)

    events = await world.audit()
    assert [e.kind for e in events] == [
        AuditKind.MESSAGE_DELETED,
        AuditKind.MUTED,
        AuditKind.WARNED,
    ]
    assert all(e.subject == ALICE and e.at == world.clock.now() for e in events)
    assert str(NEWS) in events[1].reason


async def test_a_failed_restriction_is_audited_and_admins_are_told_once(world: World) -> None:
    await world.protect()
    world.messenger.fail("restrict", GROUP, lambda: BotLacksRights(GROUP, "not enough rights"))
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.RESTRICT_FAILED
    assert await world.on_message.execute(world.message(BOB)) is Enforcement.RESTRICT_FAILED
    assert await world.restriction(ALICE) is None
    assert world.messenger.warnings == []
    assert await world.audit_kinds() == [AuditKind.ACTION_FAILED, AuditKind.ACTION_FAILED]
    assert [n.kind for n in world.messenger.notices] == [NoticeKind.CANNOT_RESTRICT]


async def test_a_member_who_became_admin_since_the_cache_is_not_muted(world: World) -> None:
    await world.protect()
    await world.say(ADMIN)  # caches the admin set
    world.messenger.set_status(GROUP, ALICE, MemberStatus.ADMINISTRATOR)  # promoted meanwhile
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.EXEMPT
    assert await world.restriction(ALICE) is None
    assert await world.memberships.admins(GROUP) is None  # the stale admin set was dropped


class SlowMessenger(InMemoryMessenger):
    """Answers after a pause, as Telegram does, so the handling of updates can overlap."""

    async def admins(self, group_id: GroupId) -> frozenset[UserId]:
        await asyncio.sleep(0.01)
        return await super().admins(group_id)

    async def delete_message(self, chat_id: int, message_id: MessageId) -> None:
        await asyncio.sleep(0.01)
        await super().delete_message(chat_id, message_id)

    async def restrict(self, group_id: GroupId, user_id: UserId) -> None:
        await asyncio.sleep(0.01)
        await super().restrict(group_id, user_id)


async def test_a_message_that_raced_the_mute_is_deleted_without_another_warning(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    first_warning = world.messenger.warnings[0][0]
    racing = world.message(ALICE)
    assert await world.on_message.execute(racing) is Enforcement.RESTRICTED
    assert (GROUP, racing.message_id) in world.messenger.deleted
    assert len(world.messenger.warnings) == 1
    assert len(world.messenger.calls_of("restrict")) == 1
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.warning_message_id == first_warning
    assert (await world.audit_kinds())[-1] is AuditKind.MESSAGE_DELETED


async def test_messages_sent_at_once_get_one_mute_and_one_warning() -> None:
    world = World(messenger=SlowMessenger(own_id=BOT))
    await world.protect()
    messages = [world.message(ALICE) for _ in range(5)]
    outcomes = await asyncio.gather(*(world.on_message.execute(m) for m in messages))
    assert set(outcomes) == {Enforcement.RESTRICTED}
    assert len(world.messenger.warnings) == 1
    assert len(world.messenger.calls_of("restrict")) == 1
    assert {(GROUP, m.message_id) for m in messages} <= set(world.messenger.deleted)


async def test_a_later_mute_replaces_the_previous_warning(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    first_warning = world.messenger.warnings[0][0]
    world.clock.advance(MUTE_SETTLE + timedelta(seconds=1))
    await world.say(ALICE)  # e.g. the bot missed an admin lifting the mute by hand
    assert (GROUP, first_warning) in world.messenger.deleted
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.warning_message_id == world.messenger.warnings[1][0]


async def test_a_failed_warning_still_records_the_restriction(world: World) -> None:
    await world.protect()
    world.messenger.fail("send_warning", GROUP, lambda: MessengerUnavailable("timeout"))
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.RESTRICTED
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.warning_message_id is None
    assert await world.audit_kinds() == [AuditKind.MESSAGE_DELETED, AuditKind.MUTED]


async def test_a_failed_deletion_does_not_stop_the_mute(world: World) -> None:
    await world.protect()
    world.messenger.fail("delete_message", GROUP, lambda: MessengerUnavailable("timeout"))
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.RESTRICTED


async def test_other_bots_are_never_restricted(world: World) -> None:
    await world.protect()
    assert await world.on_message.execute(world.message(UserId(7), is_bot=True)) is (
        Enforcement.EXEMPT
    )


async def test_design_5_lookups_of_one_groups_admins_at_once_ask_telegram_once() -> None:
    world = World(messenger=SlowMessenger(own_id=BOT))
    answers = await asyncio.gather(*(world.lookups.admins(GROUP) for _ in range(5)))
    assert len(world.messenger.calls_of("admins")) == 1
    assert len(set(answers)) == 1
    assert answers[0] is not None
    assert OWNER in answers[0]


async def test_rule_11_a_mute_telegram_cannot_take_now_is_deferred_then_applied(
    world: World,
) -> None:
    """Issue 10: a 90 s 429 on restrictChatMember dropped the mute; now it waits, then applies."""
    await world.protect()
    world.messenger.fail(
        "restrict", GROUP, lambda: MessengerUnavailable("flood", retry_after=90.0)
    )

    outcome = await world.on_message.execute(world.message(ALICE))

    assert outcome is Enforcement.RESTRICT_DEFERRED
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert await world.restriction(ALICE) is not None  # remembered: it will be applied
    assert world.messenger.warnings == []  # no warning before the mute holds
    [retry] = await world.pending()
    assert retry.kind is ActionKind.RESTRICT_MEMBER
    assert retry.due_at == world.clock.now() + timedelta(seconds=90)
    world.messenger.heal("restrict", GROUP)
    await world.run_due(timedelta(seconds=89))
    assert not world.messenger.is_restricted(GROUP, ALICE)  # not before retry_after

    await world.run_due(timedelta(seconds=1))
    await world.send_pending()

    assert world.messenger.is_restricted(GROUP, ALICE)
    assert [w.member.user_id for _, w in world.messenger.warnings] == [ALICE]
    assert AuditKind.MUTED in await world.audit_kinds()


async def test_rule_11_a_mute_failing_past_the_retries_is_logged_each_time_it_is_deferred(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10: a restriction failing 3x500 left an audit row and no log line."""
    caplog.set_level(logging.WARNING, logger="application.restrictions")
    await world.protect()
    world.messenger.fail("restrict", GROUP, lambda: MessengerUnavailable("502 Bad Gateway"))
    await world.on_message.execute(world.message(ALICE))

    await world.run_due(timedelta(seconds=10))

    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [line.split()[0] for line in logged] == ["mute.deferred", "action.deferred"]
    assert all(f"user={ALICE}" in line and "502 Bad Gateway" in line for line in logged)
    [retry] = await world.pending()
    assert (retry.kind, retry.attempts) == (ActionKind.RESTRICT_MEMBER, 1)
    assert AuditKind.ACTION_FAILED in await world.audit_kinds()


async def test_rule_11_a_deferred_mute_is_dropped_when_the_member_is_freed_meanwhile(
    world: World,
) -> None:
    await world.protect()
    world.messenger.fail("restrict", GROUP, lambda: MessengerUnavailable("5xx"))
    await world.on_message.execute(world.message(ALICE))
    world.messenger.heal("restrict", GROUP)
    await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))

    await world.run_due(timedelta(minutes=1))

    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert await world.restriction(ALICE) is None


async def test_rule_11_a_long_hold_in_the_group_queues_the_next_members_moderation(
    world: World,
) -> None:
    """Issue 10: during a long 429 hold the next member's message stayed visible and unmuted."""
    await world.protect()
    held = lambda: MessengerUnavailable("flood", retry_after=90.0)  # noqa: E731
    world.messenger.fail("restrict", GROUP, held)
    world.messenger.fail("delete_message", GROUP, held)
    command = world.message(BOB)

    assert await world.on_message.execute(command) is Enforcement.RESTRICT_DEFERRED

    kinds = sorted(a.kind for a in await world.pending())
    assert kinds == sorted([ActionKind.DELETE_MESSAGE, ActionKind.RESTRICT_MEMBER])
    world.messenger.heal("restrict", GROUP)
    world.messenger.heal("delete_message", GROUP)
    await world.run_due(timedelta(seconds=90))
    assert (GROUP, command.message_id) in world.messenger.deleted
    assert world.messenger.is_restricted(GROUP, BOB)


async def test_rule_5_a_message_from_a_member_an_admin_restricted_records_no_mute_of_the_bots(
    world: World,
) -> None:
    """A message that raced an admin's mute: deleted, but the mute stays the admin's."""
    await world.protect()
    world.messenger.set_status(GROUP, ALICE, MemberStatus.RESTRICTED, is_member=True)
    command = world.message(ALICE)

    outcome = await world.on_message.execute(command)

    assert outcome is Enforcement.RESTRICTED_BY_SOMEONE_ELSE
    assert (GROUP, command.message_id) in world.messenger.deleted
    assert await world.restriction(ALICE) is None
    assert world.messenger.calls_of("restrict") == []
    assert world.messenger.warnings == []
    assert await world.audit_kinds() == [AuditKind.MESSAGE_DELETED]
    pressed = await world.verify.execute(PressVerifyCommand(GROUP, ALICE, ALICE))
    assert pressed.outcome is VerifyOutcome.NOT_RESTRICTED_BY_BOT
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_5_a_mute_asks_the_members_standing_unless_the_update_carries_it(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    carried = attrs.evolve(world.message(BOB), standing=Membership(MemberStatus.MEMBER))
    assert await world.on_message.execute(carried) is Enforcement.RESTRICTED
    asked = world.messenger.calls_of("membership")
    assert [call for call in asked if call[1] == GROUP] == [("membership", GROUP, ALICE)]


async def test_a_mute_goes_ahead_when_telegram_cannot_tell_the_members_standing(
    world: World,
) -> None:
    await world.protect()
    world.messenger.fail("membership", GROUP, lambda: MessengerUnavailable("timeout"))
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.RESTRICTED
    assert world.messenger.is_restricted(GROUP, ALICE)
