"""Rule 6: channel joins and leaves drive state (ChannelMemberChanged)."""

from datetime import timedelta

from application.errors import MessengerUnavailable
from application.use_cases.channel_member_changed import ChannelChangeResult, ChannelMemberUpdate
from domain.audit import AuditKind
from domain.ids import UserId
from domain.membership import Membership, MemberStatus
from domain.notices import NoticeKind
from domain.policy import GroupSettings
from domain.restriction import WarningReason
from domain.schedule import ActionKind
from domain.senders import Person
from tests.unit.world import (
    ADMIN,
    ALICE,
    BOB,
    GROUP,
    NEWS,
    NEWS_CHANNEL,
    OTHER_GROUP,
    TALK,
    TALK_CHANNEL,
    World,
)

LEFT = Membership(MemberStatus.LEFT)
MEMBER = Membership(MemberStatus.MEMBER)
MUTED = Membership(MemberStatus.RESTRICTED, is_member=True)
PROMOTED = Membership(MemberStatus.ADMINISTRATOR)


def channel_update(user: UserId, old: Membership, new: Membership) -> ChannelMemberUpdate:
    return ChannelMemberUpdate(NEWS, Person(user, f"user{user}"), old, new)


async def test_rule_6_joining_the_last_missing_channel_lifts_with_no_button_press(
    world: World,
) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    await world.say(ALICE)
    await world.say(ALICE, group=OTHER_GROUP)
    world.join(NEWS, ALICE)

    result = await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))

    assert sorted(result.lifted) == sorted((GROUP, OTHER_GROUP))
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert not world.messenger.is_restricted(OTHER_GROUP, ALICE)
    assert await world.restriction(ALICE) is None
    assert (await world.audit())[-1].kind is AuditKind.UNMUTED


async def test_rule_12_a_member_freed_by_joining_is_told_so_in_private_if_they_started_the_bot(
    world: World,
) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    await world.say(ALICE)
    await world.say(BOB, group=OTHER_GROUP)
    world.messenger.started.add(ALICE)  # Bob never started the bot

    await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))
    await world.on_channel_member.execute(channel_update(BOB, LEFT, MEMBER))

    told = [(n.user_id, n.group_id, n.kind) for n in world.messenger.told]
    assert told == [(ALICE, GROUP, NoticeKind.MEMBER_FREED)]
    assert world.messenger.told[0].group_title == "Group"
    assert [c for c in world.messenger.calls if c[0] == "tell_member"] == [
        ("tell_member", ALICE, None),
        ("tell_member", BOB, None),
    ]
    # Bob's refusal is expected, not a failure: nothing in the trail, nothing left pending
    assert AuditKind.ACTION_FAILED not in await world.audit_kinds(OTHER_GROUP)
    assert await world.pending(OTHER_GROUP) == ()


async def test_rule_6_the_event_itself_answers_no_extra_check_of_that_channel(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    checks = len(world.messenger.calls_of("membership"))
    # Telegram's answer would still say "left": the event is newer and wins.
    await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))
    assert len(world.messenger.calls_of("membership")) == checks
    assert not world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_6_joining_one_of_two_missing_channels_keeps_the_mute(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    await world.say(ALICE)

    result = await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))

    assert result == ChannelChangeResult()
    assert world.messenger.is_restricted(GROUP, ALICE)
    restriction = await world.restriction(ALICE)
    assert restriction is not None
    assert restriction.missing == (TALK,)
    (first_id, _), (second_id, second) = world.messenger.warnings
    assert second.reason is WarningReason.PARTLY_JOINED
    assert second.channels == (TALK_CHANNEL,)
    assert (GROUP, first_id) in world.messenger.deleted
    assert restriction.warning_message_id == second_id


async def test_rule_6_joining_never_lifts_a_mute_the_bot_did_not_apply(world: World) -> None:
    await world.protect()
    world.messenger.set_status(GROUP, ALICE, MemberStatus.RESTRICTED, is_member=True)
    result = await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))
    assert result.lifted == ()
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_6_leaving_a_channel_re_restricts_in_every_linked_group(world: World) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    world.join(NEWS, ALICE)
    await world.say(ALICE)
    world.leave(NEWS, ALICE)

    result = await world.on_channel_member.execute(channel_update(ALICE, MEMBER, LEFT))

    assert sorted(result.restricted) == sorted((GROUP, OTHER_GROUP))
    assert world.messenger.is_restricted(GROUP, ALICE)
    reasons = {w.reason for _, w in world.messenger.warnings}
    assert reasons == {WarningReason.LEFT_CHANNEL}


async def test_rule_6_leaving_spares_admins_exempt_members_and_non_members(world: World) -> None:
    await world.protect()
    async with world.uow.begin(GROUP) as tx:
        await tx.exemptions.add(GROUP, BOB)
        await tx.commit()
    stranger = UserId(999)
    for user in (ADMIN, BOB, stranger):
        result = await world.on_channel_member.execute(channel_update(user, MEMBER, LEFT))
        assert result == ChannelChangeResult()
    assert world.messenger.calls_of("restrict") == []


async def test_rule_6_a_status_change_within_the_channel_changes_nothing(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    result = await world.on_channel_member.execute(channel_update(ALICE, MEMBER, PROMOTED))
    assert result == ChannelChangeResult()
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_6_channel_events_update_the_membership_cache(world: World) -> None:
    await world.protect()
    world.join(NEWS, ALICE)
    await world.say(ALICE)  # caches "member"
    world.leave(NEWS, ALICE)
    await world.on_channel_member.execute(channel_update(ALICE, MEMBER, LEFT))
    assert await world.memberships.membership(NEWS, ALICE) == LEFT


async def test_rule_6_disabled_groups_are_left_alone(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    await world.disable()
    result = await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))
    assert result.lifted == ()


async def test_rule_6_lifting_cancels_the_pending_kick(world: World) -> None:
    await world.protect(settings=GroupSettings(kick_after=timedelta(hours=1)))
    await world.say(ALICE)
    assert ActionKind.KICK_UNVERIFIED in {a.kind for a in await world.pending()}
    await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))
    assert ActionKind.KICK_UNVERIFIED not in {a.kind for a in await world.pending()}


async def test_rule_6_a_lift_telegram_refuses_keeps_the_restriction_for_later(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    world.messenger.fail("unrestrict", GROUP, lambda: MessengerUnavailable("timeout"))
    result = await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))
    assert result.lifted == ()
    assert await world.restriction(ALICE) is not None


async def test_rule_6_leaving_when_telegram_cannot_answer_restricts_nobody(world: World) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    world.messenger.fail("admins", GROUP, lambda: MessengerUnavailable("timeout"))
    world.messenger.fail("membership", OTHER_GROUP, lambda: MessengerUnavailable("timeout"))
    result = await world.on_channel_member.execute(channel_update(ALICE, MEMBER, LEFT))
    assert result == ChannelChangeResult()
    assert world.messenger.calls_of("restrict") == []


async def test_rule_6_a_member_promoted_since_the_admin_cache_is_not_restricted(
    world: World,
) -> None:
    await world.protect()
    await world.say(ADMIN)  # caches the admin set without Alice
    world.messenger.set_status(GROUP, ALICE, MemberStatus.ADMINISTRATOR)
    result = await world.on_channel_member.execute(channel_update(ALICE, MEMBER, LEFT))
    assert result.restricted == ()
    assert world.messenger.calls_of("restrict") == []


async def test_rule_5_leaving_and_rejoining_a_channel_never_takes_over_an_admins_mute(
    world: World,
) -> None:
    await world.protect()
    world.join(NEWS, ALICE)
    world.messenger.set_status(GROUP, ALICE, MemberStatus.RESTRICTED, is_member=True)

    world.leave(NEWS, ALICE)
    left = await world.on_channel_member.execute(channel_update(ALICE, MEMBER, LEFT))
    world.join(NEWS, ALICE)
    joined = await world.on_channel_member.execute(channel_update(ALICE, LEFT, MEMBER))

    assert left == joined == ChannelChangeResult()
    assert await world.restriction(ALICE) is None
    assert world.messenger.calls_of("restrict") == []
    assert world.messenger.calls_of("unrestrict") == []
    assert world.messenger.warnings == []
    assert world.messenger.is_restricted(GROUP, ALICE)
