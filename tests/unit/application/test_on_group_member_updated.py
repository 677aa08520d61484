"""Joins, promotions and manual lifts in a group (OnGroupMemberUpdated; rule 3 on joining)."""

from application.use_cases.enforce_membership import Enforcement
from application.use_cases.on_group_member_updated import (
    GroupMemberUpdate,
    MemberUpdateOutcome,
)
from domain.ids import GroupId, UserId
from domain.membership import Membership, MemberStatus
from domain.restriction import WarningReason
from domain.senders import Person
from tests.unit.world import (
    ADMIN,
    ALICE,
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
