"""The bot's own standing changes (my_chat_member): recorded, and admins told what is missing."""

from application.ports.messenger import ChatRights
from application.use_cases.on_bot_status_changed import BotStatusOutcome, BotStatusUpdate
from domain.audit import AuditKind
from domain.membership import Membership, MemberStatus
from domain.notices import NoticeKind
from tests.unit.world import ALICE, BOT, GROUP, NEWS, NEWS_CHANNEL, OWNER, World

ADMIN_STATUS = Membership(MemberStatus.ADMINISTRATOR)
MEMBER = Membership(MemberStatus.MEMBER)
LEFT = Membership(MemberStatus.LEFT)


def in_group(old: Membership, new: Membership) -> BotStatusUpdate:
    return BotStatusUpdate(GROUP, False, old, new, OWNER)


async def test_added_with_every_right_needed_the_group_is_ready(world: World) -> None:
    assert await world.on_bot_status.execute(in_group(LEFT, ADMIN_STATUS)) is (
        BotStatusOutcome.GROUP_READY
    )
    assert world.messenger.notices == []


async def test_demoted_in_a_protected_group_the_admins_are_told_once(world: World) -> None:
    await world.protect()
    world.messenger.chat_rights[(GROUP, BOT)] = ChatRights(MemberStatus.MEMBER)
    for _ in range(2):
        outcome = await world.on_bot_status.execute(in_group(ADMIN_STATUS, MEMBER))
        assert outcome is BotStatusOutcome.GROUP_NEEDS_RIGHTS
    assert world.messenger.notices == []  # rule 11: the paced sender posts it
    await world.send_pending()
    assert [n.kind for n in world.messenger.notices] == [NoticeKind.CANNOT_RESTRICT]
    events = await world.audit()
    assert [e.kind for e in events] == [AuditKind.BOT_STATUS_CHANGED] * 2
    assert events[0].actor == OWNER


async def test_a_promotion_refreshes_the_cached_admin_set(world: World) -> None:
    await world.memberships.store_admins(GROUP, frozenset({OWNER}))
    await world.on_bot_status.execute(in_group(MEMBER, ADMIN_STATUS))
    assert await world.memberships.admins(GROUP) is None


async def test_removed_from_a_group_it_is_recorded_and_nobody_is_messaged(world: World) -> None:
    await world.protect()
    assert await world.on_bot_status.execute(in_group(ADMIN_STATUS, LEFT)) is (
        BotStatusOutcome.IGNORED
    )
    assert world.messenger.calls_of("notify_admins") == []
    assert await world.audit_kinds() == [AuditKind.BOT_STATUS_CHANGED]


async def test_groups_never_set_up_are_not_made_tenants(world: World) -> None:
    await world.on_bot_status.execute(in_group(LEFT, ADMIN_STATUS))
    assert world.uow.commits == 0


async def test_losing_admin_in_a_required_channel_tells_every_linked_group_once(
    world: World,
) -> None:
    await world.protect()
    update = BotStatusUpdate(NEWS, True, ADMIN_STATUS, LEFT, OWNER)
    assert await world.on_bot_status.execute(update) is BotStatusOutcome.CHANNEL_LOST
    await world.say(ALICE)  # the check now fails too: no second notice
    [notice] = world.messenger.notices
    assert (notice.kind, notice.channel) == (NoticeKind.CHECKS_FAILING, NEWS_CHANNEL)
    assert AuditKind.BOT_STATUS_CHANGED in await world.audit_kinds()


async def test_other_changes_in_a_channel_are_ignored(world: World) -> None:
    await world.protect()
    update = BotStatusUpdate(NEWS, True, MEMBER, ADMIN_STATUS, OWNER)
    assert await world.on_bot_status.execute(update) is BotStatusOutcome.IGNORED
