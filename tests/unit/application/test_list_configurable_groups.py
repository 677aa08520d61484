"""Issue 11 point 7: settings from a private chat, for the groups the caller administers."""

import pytest

from application.authorization import Caller
from application.errors import MessengerUnavailable, NotPermitted
from application.ports.messenger import ChatRights
from application.use_cases.change_settings import SettingsCommand
from application.use_cases.list_configurable_groups import ConfigurableGroup
from application.use_cases.remember_username import MemberSeen
from domain.ids import GroupId, UserId
from domain.membership import MemberStatus
from tests.unit.world import ADMIN, ALICE, GROUP, OTHER_GROUP, World


async def seen(world: World, *groups: GroupId, user: UserId = ADMIN) -> None:
    for group in groups:
        await world.remember_username.execute(MemberSeen(group, user, None))


async def test_lists_the_set_up_groups_where_telegram_says_the_caller_is_an_admin(
    world: World,
) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    await seen(world, GROUP, OTHER_GROUP)
    await seen(world, GROUP, user=ALICE)

    listed = await world.configurable.execute(ADMIN)
    assert sorted(listed, key=lambda g: g.group_id) == sorted(
        (ConfigurableGroup(GROUP, "Group"), ConfigurableGroup(OTHER_GROUP, "Group")),
        key=lambda g: g.group_id,
    )
    assert await world.configurable.execute(ALICE) == ()  # a member, not an admin


async def test_a_group_never_set_up_or_never_seen_is_not_offered(world: World) -> None:
    await world.protect()
    await seen(world, OTHER_GROUP)  # seen there, but the bot was never set up there
    assert await world.configurable.execute(ADMIN) == ()


async def test_an_admin_demoted_since_is_no_longer_offered_nor_obeyed(world: World) -> None:
    await world.protect()
    await seen(world, GROUP)
    assert [g.group_id for g in await world.configurable.execute(ADMIN)] == [GROUP]
    world.messenger.chat_rights[(GROUP, ADMIN)] = ChatRights(MemberStatus.MEMBER)

    assert await world.configurable.execute(ADMIN) == ()
    # a press on the menu they were shown before is checked again at that moment
    with pytest.raises(NotPermitted):
        await world.settings.execute(
            SettingsCommand(GROUP, Caller(ADMIN), "failure_policy", "closed")
        )


async def test_a_group_telegram_cannot_answer_for_is_left_out(world: World) -> None:
    await world.protect()
    await seen(world, GROUP)
    world.messenger.fail("rights", GROUP, lambda: MessengerUnavailable("down"))
    assert await world.configurable.execute(ADMIN) == ()
