"""Issue 11 point 4: `/setlog` and the audit events posted to the log channel as they happen."""

import pytest

from application.authorization import Caller
from application.diagnosis import Problem
from application.errors import NotPermitted
from application.ports.messenger import ChatInfo, ChatKind, ChatRights
from application.targeting import ById
from application.use_cases.check_rights import CheckCommand
from application.use_cases.exempt_member import ExemptCommand
from application.use_cases.post_audit_log import EVENTS_PER_POST, LogReport
from application.use_cases.set_log_channel import SetLogCommand, SetLogResult
from domain.audit import AuditKind
from domain.ids import ChannelId, UserId
from domain.membership import MemberStatus
from domain.policy import LogChannel
from tests.unit.world import ALICE, AS_ADMIN, BOB, BOT, CAROL, GROUP, OTHER_GROUP, World

LOG = ChannelId(-1003000000001)
POSTABLE = ChatRights(MemberStatus.ADMINISTRATOR, can_post_messages=True)


def log_channel(world: World, rights: ChatRights | None = POSTABLE) -> None:
    world.messenger.chats["@audit_log"] = ChatInfo(LOG, ChatKind.CHANNEL, "Audit", "audit_log")
    world.messenger.chats[str(LOG)] = ChatInfo(LOG, ChatKind.CHANNEL, "Audit", "audit_log")
    if rights is not None:
        world.messenger.chat_rights[(LOG, BOT)] = rights


async def setlog(world: World, reference: str = "@audit_log") -> SetLogResult:
    return await world.setlog.execute(SetLogCommand(GROUP, "Group", AS_ADMIN, reference))


async def post_round(world: World) -> list[LogReport]:
    """What the log loop does in one round."""
    return [
        await world.post_audit_log.execute(group)
        for group in await world.directory.groups_with_unposted_log()
    ]


async def test_setlog_saves_the_channel_and_posts_only_events_from_then_on(world: World) -> None:
    await world.protect()
    await world.say(ALICE)  # before the log channel: not posted
    log_channel(world)

    result = await setlog(world)

    assert result.channel == LogChannel(LOG, "Audit")
    assert result.findings == ()
    await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(BOB)))
    assert await post_round(world) == [LogReport(posted=2)]
    [batch] = world.messenger.logged
    assert batch.channel_id == LOG
    assert batch.group_title == "Group"
    assert [e.kind for e in batch.events] == [AuditKind.LOG_CHANNEL_SET, AuditKind.EXEMPTED]
    assert await post_round(world) == []  # nothing new, nothing posted


async def test_many_events_go_out_several_to_a_message(world: World) -> None:
    await world.protect()
    log_channel(world)
    await setlog(world)
    for user in range(300, 300 + EVENTS_PER_POST + 5):
        await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(UserId(user))))

    first, second = await post_round(world), await post_round(world)

    assert first == [LogReport(posted=EVENTS_PER_POST)]
    assert second == [LogReport(posted=6)]  # 1 LOG_CHANNEL_SET + 25 EXEMPTED = 20 + 6
    assert len(world.messenger.logged) == 2


async def test_a_channel_the_bot_cannot_post_in_is_refused_and_nothing_saved(
    world: World,
) -> None:
    await world.protect()
    log_channel(world, ChatRights(MemberStatus.ADMINISTRATOR))  # an admin who may not post
    result = await setlog(world)
    assert result.channel is None
    assert [f.problem for f in result.findings] == [Problem.CANNOT_POST_LOG]
    log_channel(world, ChatRights(MemberStatus.MEMBER))
    assert [f.problem for f in (await setlog(world)).findings] == [Problem.CANNOT_POST_LOG]
    world.messenger.chats["@a_group"] = ChatInfo(-1009, ChatKind.SUPERGROUP, "G", "a_group")
    assert [f.problem for f in (await setlog(world, "@a_group")).findings] == [
        Problem.NOT_A_CHANNEL
    ]
    assert [f.problem for f in (await setlog(world, "@nowhere")).findings] == [Problem.NOT_FOUND]
    policy = (await world.lookups.snapshot(GROUP)).policy
    assert policy is not None
    assert policy.log_channel is None
    assert AuditKind.LOG_CHANNEL_SET not in await world.audit_kinds()


async def test_setlog_off_stops_posting(world: World) -> None:
    await world.protect()
    log_channel(world)
    await setlog(world)
    await post_round(world)
    assert (await setlog(world, "OFF")).channel is None
    await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(CAROL)))
    assert await post_round(world) == []
    assert len(world.messenger.logged) == 1


async def test_only_admins_set_the_log_channel(world: World) -> None:
    log_channel(world)
    with pytest.raises(NotPermitted):
        await world.setlog.execute(SetLogCommand(GROUP, "Group", Caller(ALICE), "@audit_log"))


async def test_losing_the_right_to_post_switches_posting_off_and_says_so(world: World) -> None:
    await world.protect()
    log_channel(world)
    await setlog(world)
    world.messenger.chat_rights[(LOG, BOT)] = ChatRights(MemberStatus.LEFT)

    assert await post_round(world) == [LogReport(refused=True)]

    policy = (await world.lookups.snapshot(GROUP)).policy
    assert policy is not None
    assert policy.log_channel is None
    assert (await world.audit())[-1].kind is AuditKind.ACTION_FAILED
    assert await post_round(world) == []
    report = await world.check.execute(CheckCommand(GROUP, AS_ADMIN))
    assert report.healthy  # no log channel any more: nothing to check


async def test_check_covers_the_log_channels_rights(world: World) -> None:
    await world.protect()
    log_channel(world)
    await setlog(world)
    assert (await world.check.execute(CheckCommand(GROUP, AS_ADMIN))).healthy
    world.messenger.chat_rights[(LOG, BOT)] = ChatRights(MemberStatus.ADMINISTRATOR)
    report = await world.check.execute(CheckCommand(GROUP, AS_ADMIN))
    assert [(f.problem, f.chat_id) for f in report.findings] == [(Problem.CANNOT_POST_LOG, LOG)]


async def test_each_group_posts_to_its_own_log_channel(world: World) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    log_channel(world)
    await setlog(world)
    await world.exempt.execute(ExemptCommand(OTHER_GROUP, AS_ADMIN, ById(BOB)))
    await post_round(world)
    assert [b.group_title for b in world.messenger.logged] == ["Group"]
    assert all(e.group_id == GROUP for b in world.messenger.logged for e in b.events)
