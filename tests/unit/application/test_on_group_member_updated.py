"""Joins, promotions and manual lifts in a group (OnGroupMemberUpdated; rule 3 on joining)."""

from application.use_cases.channel_member_changed import ChannelMemberUpdate
from application.use_cases.enforce_membership import Enforcement
from application.use_cases.on_group_member_updated import (
    GroupMemberUpdate,
    MemberUpdateOutcome,
    MemberUpdateResult,
)
from application.use_cases.press_verify import PressVerifyCommand, VerifyOutcome
from application.use_cases.unprotect_group import UnprotectCommand
from domain.ids import GroupId, UserId
from domain.membership import Membership, MemberStatus
from domain.restriction import WarningReason
from domain.schedule import ActionKind
from domain.senders import Person
from tests.unit.world import (
    ADMIN,
    ALICE,
    AS_ADMIN,
    BOB,
    BOT,
    GROUP,
    NEWS,
    World,
)

LEFT = Membership(MemberStatus.LEFT)
MEMBER = Membership(MemberStatus.MEMBER)
MUTED = Membership(MemberStatus.RESTRICTED, is_member=True)
PROMOTED = Membership(MemberStatus.ADMINISTRATOR)


def joined(user: UserId, *, by: UserId | None = None, group: GroupId = GROUP) -> GroupMemberUpdate:
    return GroupMemberUpdate(group, Person(user, f"user{user}"), LEFT, MEMBER, by or user)


# --- joins ------------------------------------------------------------------------------------


async def test_rule_3_a_member_who_joins_unsubscribed_is_muted_and_warned(world: World) -> None:
    await world.protect()
    result = await world.on_group_member.execute(joined(ALICE))
    assert result.outcome is MemberUpdateOutcome.JOINED
    assert result.enforcement is Enforcement.RESTRICTED
    assert world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.warnings[0][1].reason is WarningReason.JOINED
    assert world.messenger.deleted == []  # there is no message to delete


async def test_design_9_the_join_warning_names_the_new_member_not_the_admin_who_added_them(
    world: World,
) -> None:
    await world.protect()
    await world.on_group_member.execute(joined(ALICE, by=ADMIN))
    [(_, warning)] = world.messenger.warnings
    assert warning.member == Person(ALICE, f"user{ALICE}")


async def test_a_subscribed_member_who_joins_is_left_alone(world: World) -> None:
    await world.protect()
    world.join(NEWS, ALICE)
    result = await world.on_group_member.execute(joined(ALICE))
    assert result.enforcement is Enforcement.ALLOWED
    assert world.messenger.warnings == []


async def test_leaving_the_group_is_ignored(world: World) -> None:
    await world.protect()
    update = GroupMemberUpdate(GROUP, Person(ALICE, "a"), MEMBER, LEFT, ALICE)
    assert (await world.on_group_member.execute(update)).outcome is MemberUpdateOutcome.IGNORED
    assert world.messenger.calls == []


async def test_a_promotion_or_demotion_refreshes_the_cached_admin_set(world: World) -> None:
    await world.protect()
    await world.say(ADMIN)  # caches the admin set
    world.messenger.set_status(GROUP, ALICE, MemberStatus.ADMINISTRATOR)
    update = GroupMemberUpdate(GROUP, Person(ALICE, "a"), MEMBER, PROMOTED, ADMIN)

    result = await world.on_group_member.execute(update)

    assert result.outcome is MemberUpdateOutcome.ADMINS_CHANGED
    assert await world.memberships.admins(GROUP) is None
    await world.say(ALICE)
    assert not world.messenger.is_restricted(GROUP, ALICE)


async def test_an_admin_lifting_the_bots_mute_by_hand_overrides_the_bot(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    update = GroupMemberUpdate(GROUP, Person(ALICE, "a"), MUTED, MEMBER, ADMIN)

    result = await world.on_group_member.execute(update)

    assert result.outcome is MemberUpdateOutcome.RELEASED_BY_ADMIN
    assert await world.restriction(ALICE) is None
    assert (await world.audit())[-1].actor == ADMIN


async def test_the_bots_own_lift_is_not_mistaken_for_an_admins(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    update = GroupMemberUpdate(GROUP, Person(ALICE, "a"), MUTED, MEMBER, BOT)
    result = await world.on_group_member.execute(update)
    assert result.outcome is MemberUpdateOutcome.IGNORED
    assert await world.restriction(ALICE) is not None


async def test_an_admin_lifting_someone_the_bot_did_not_mute_changes_nothing(
    world: World,
) -> None:
    await world.protect()
    update = GroupMemberUpdate(GROUP, Person(ALICE, "a"), MUTED, MEMBER, ADMIN)
    assert (await world.on_group_member.execute(update)).outcome is MemberUpdateOutcome.IGNORED


# --- rule 5: never take over an admin's mute ---------------------------------------------------

RESTRICTED_OUTSIDE = Membership(MemberStatus.RESTRICTED, is_member=False)


async def rejoin_restricted_by_admin(world: World, user: UserId = ALICE) -> MemberUpdateResult:
    """An admin restricts `user` while they are outside the group; then they join again."""
    person = Person(user, f"user{user}")
    world.messenger.set_status(GROUP, user, MemberStatus.RESTRICTED, is_member=False)
    await world.on_group_member.execute(
        GroupMemberUpdate(GROUP, person, LEFT, RESTRICTED_OUTSIDE, ADMIN)
    )
    world.messenger.set_status(GROUP, user, MemberStatus.RESTRICTED, is_member=True)
    return await world.on_group_member.execute(
        GroupMemberUpdate(GROUP, person, RESTRICTED_OUTSIDE, MUTED, user)
    )


async def test_rule_5_a_member_who_rejoins_restricted_by_an_admin_is_not_recorded_as_the_bots(
    world: World,
) -> None:
    await world.protect()

    result = await rejoin_restricted_by_admin(world)

    assert result.outcome is MemberUpdateOutcome.JOINED
    assert result.enforcement is Enforcement.RESTRICTED_BY_SOMEONE_ELSE
    assert await world.restriction(ALICE) is None
    assert world.messenger.calls_of("restrict") == []
    assert world.messenger.warnings == []
    assert await world.pending() == ()  # no warning intent, no kick
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_rule_5_a_rejoined_members_admin_mute_survives_channel_join_verify_unprotect(
    world: World,
) -> None:
    await world.protect()
    await rejoin_restricted_by_admin(world)

    world.join(NEWS, ALICE)
    joined_channel = ChannelMemberUpdate(NEWS, Person(ALICE, "Alice"), LEFT, MEMBER)
    assert (await world.on_channel_member.execute(joined_channel)).lifted == ()
    pressed = await world.verify.execute(PressVerifyCommand(GROUP, ALICE, ALICE))
    assert pressed.outcome is VerifyOutcome.NOT_RESTRICTED_BY_BOT
    unprotected = await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))
    await world.run_due()

    assert unprotected.lifting == 0
    assert world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.calls_of("unrestrict") == []


async def test_rule_5_a_member_who_first_joins_already_restricted_is_left_to_the_admin(
    world: World,
) -> None:
    """Added by nobody the bot saw: the update goes straight from left to restricted."""
    await world.protect()
    world.messenger.set_status(GROUP, BOB, MemberStatus.RESTRICTED, is_member=True)

    result = await world.on_group_member.execute(
        GroupMemberUpdate(GROUP, Person(BOB, "Bob"), LEFT, MUTED, BOB)
    )

    assert result.enforcement is Enforcement.RESTRICTED_BY_SOMEONE_ELSE
    assert await world.restriction(BOB) is None
    assert world.messenger.calls_of("restrict") == []


async def test_rule_5_an_admin_who_restricts_a_member_the_bot_muted_takes_the_mute_over(
    world: World,
) -> None:
    await world.protect()
    await world.on_group_member.execute(joined(ALICE))  # muted by the bot
    assert await world.restriction(ALICE) is not None

    result = await world.on_group_member.execute(
        GroupMemberUpdate(GROUP, Person(ALICE, "Alice"), MUTED, MUTED, ADMIN)
    )

    assert result.outcome is MemberUpdateOutcome.RESTRICTED_BY_ADMIN
    assert await world.restriction(ALICE) is None
    assert [a.kind for a in await world.pending()] == [ActionKind.DELETE_MESSAGE]  # the warning's
    world.join(NEWS, ALICE)
    joined_channel = ChannelMemberUpdate(NEWS, Person(ALICE, "Alice"), LEFT, MEMBER)
    assert (await world.on_channel_member.execute(joined_channel)).lifted == ()
    assert world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.calls_of("unrestrict") == []


async def test_rule_5_the_bots_own_restrict_and_the_members_own_moves_forget_nothing(
    world: World,
) -> None:
    """The bot's restrict call and the member leaving or joining again keep the bot's mute."""
    await world.protect()
    await world.on_group_member.execute(joined(ALICE))
    person = Person(ALICE, "Alice")
    for update in (
        GroupMemberUpdate(GROUP, person, MEMBER, MUTED, BOT),
        GroupMemberUpdate(GROUP, person, MUTED, RESTRICTED_OUTSIDE, ALICE),
        GroupMemberUpdate(GROUP, person, RESTRICTED_OUTSIDE, MUTED, ALICE),
    ):
        await world.on_group_member.execute(update)
    assert await world.restriction(ALICE) is not None
