"""getChat, getChatMember(s), restrict/ban/unban, join requests, invite links, commands."""

import datetime as dt

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    ChatPermissions,
)
from telegram.error import BadRequest, Forbidden

from telegram_sandbox import AdminRights, Sandbox, SeededWorld, Status
from telegram_sandbox.state import World


async def test_get_chat_full_info(bot: Bot, ids: SeededWorld) -> None:
    group = await bot.get_chat(ids.group_id)
    assert group.type == "supergroup"
    assert group.title == "Nezuko Demo Group"
    assert group.linked_chat_id == ids.news_channel_id
    assert group.permissions is not None
    assert group.permissions.can_send_messages is True
    by_name = await bot.get_chat("@nezuko_demo_news")
    assert by_name.id == ids.news_channel_id
    assert by_name.type == "channel"
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat("@no_such_chat")


async def test_get_chat_member_statuses(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    owner = await bot.get_chat_member(ids.group_id, ids.owner_id)
    bob = await bot.get_chat_member(ids.group_id, ids.bob_id)
    dave = await bot.get_chat_member(ids.group_id, ids.dave_id)
    me = await bot.get_chat_member(ids.group_id, ids.bot_id)
    assert isinstance(owner, ChatMemberOwner)
    assert owner.status == "creator"
    assert isinstance(bob, ChatMemberMember)
    assert isinstance(dave, ChatMemberLeft)
    assert isinstance(me, ChatMemberAdministrator)
    assert me.can_restrict_members is True
    assert me.can_delete_messages is True
    assert me.can_promote_members is False
    raw = sandbox.calls.of("getChatMember")
    assert all(c.ok for c in raw)
    in_channel = await bot.get_chat_member(ids.news_channel_id, ids.bob_id)
    assert in_channel.status == "member"


async def test_get_chat_member_errors(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    with pytest.raises(BadRequest, match=r"(?i)user not found"):
        await bot.get_chat_member(ids.group_id, 424242)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat_member(-100555, ids.bob_id)
    sandbox.driver.channel(-1007, "Other", owner_id=ids.owner_id, username="other_channel")
    with pytest.raises(BadRequest, match=r"(?i)member list is inaccessible"):
        await bot.get_chat_member(-1007, ids.bob_id)
    call = sandbox.calls.last("getChatMember")
    assert call is not None
    assert (call.error_code, call.description) == (400, "Bad Request: member list is inaccessible")


async def test_administrators_and_count(bot: Bot, ids: SeededWorld) -> None:
    admins = await bot.get_chat_administrators(ids.group_id)
    assert [a.status for a in admins] == ["creator", "administrator"]
    assert {a.user.id for a in admins} == {ids.owner_id, ids.bot_id}
    assert await bot.get_chat_member_count(ids.group_id) == 4  # owner, bot, bob, carol
    assert await bot.get_chat_member_count(ids.news_channel_id) == 3


async def test_restrict_then_lift(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    await bot.restrict_chat_member(
        ids.group_id,
        ids.bob_id,
        ChatPermissions(can_send_messages=False, can_send_polls=False),
        until_date=until,
        use_independent_chat_permissions=True,
    )
    member = await bot.get_chat_member(ids.group_id, ids.bob_id)
    assert isinstance(member, ChatMemberRestricted)
    assert member.is_member is True
    assert member.can_send_messages is False
    assert int(member.until_date.timestamp()) == int(until.timestamp())
    assert sandbox.driver.is_restricted(ids.group_id, ids.bob_id)
    assert not sandbox.driver.can_send(ids.group_id, ids.bob_id)
    stored = sandbox.driver.member(ids.group_id, ids.bob_id)
    assert stored.independent_permissions is True
    call = sandbox.calls.last("restrictChatMember")
    assert call is not None
    assert call.param("use_independent_chat_permissions") is True
    assert call.param("until_date") == int(until.timestamp())

    await bot.restrict_chat_member(ids.group_id, ids.bob_id, ChatPermissions.all_permissions())
    lifted = await bot.get_chat_member(ids.group_id, ids.bob_id)
    assert isinstance(lifted, ChatMemberMember)
    assert sandbox.driver.can_send(ids.group_id, ids.bob_id)


async def test_restrict_implied_permissions_and_forever(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)
    await bot.restrict_chat_member(
        ids.group_id, ids.carol_id, ChatPermissions(can_send_polls=True), until_date=soon
    )
    member = await bot.get_chat_member(ids.group_id, ids.carol_id)
    assert isinstance(member, ChatMemberRestricted)
    assert member.can_send_messages is True  # implied by can_send_polls
    assert member.can_send_photos is False
    assert member.until_date.timestamp() == 0  # under 30 s ahead means forever


async def test_restrict_user_outside_the_chat(bot: Bot, ids: SeededWorld) -> None:
    await bot.restrict_chat_member(ids.group_id, ids.dave_id, ChatPermissions.no_permissions())
    member = await bot.get_chat_member(ids.group_id, ids.dave_id)
    assert isinstance(member, ChatMemberRestricted)
    assert member.is_member is False


async def test_restrict_errors(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    none = ChatPermissions.no_permissions()
    with pytest.raises(BadRequest, match=r"(?i)user is an administrator of the chat"):
        await bot.restrict_chat_member(ids.group_id, ids.owner_id, none)
    with pytest.raises(BadRequest, match=r"(?i)method is available only for supergroups"):
        await bot.restrict_chat_member(ids.news_channel_id, ids.bob_id, none)
    sandbox.driver.promote_bot(
        ids.group_id, AdminRights(can_delete_messages=True), by=ids.owner_id
    )
    with pytest.raises(BadRequest, match=r"(?i)not enough rights to restrict/unrestrict"):
        await bot.restrict_chat_member(ids.group_id, ids.bob_id, none)
    call = sandbox.calls.last("restrictChatMember")
    assert call is not None
    assert call.description == "Bad Request: not enough rights to restrict/unrestrict chat member"
    sandbox.driver.demote_bot(ids.group_id, by=ids.owner_id)
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.restrict_chat_member(ids.group_id, ids.bob_id, none)
    assert sandbox.driver.status(ids.group_id, ids.bob_id) is Status.MEMBER
    sandbox.driver.supergroup(-1006, "Foreign", owner_id=ids.owner_id, username="foreign_x")
    with pytest.raises(Forbidden, match=r"(?i)not a member"):
        await bot.restrict_chat_member(-1006, ids.bob_id, none)


async def test_ban_and_unban(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    said = sandbox.driver.say(ids.group_id, ids.bob_id, "spam")
    assert await bot.ban_chat_member(ids.group_id, ids.bob_id, revoke_messages=True)
    banned = await bot.get_chat_member(ids.group_id, ids.bob_id)
    assert isinstance(banned, ChatMemberBanned)
    assert banned.until_date.timestamp() == 0
    assert sandbox.driver.message(ids.group_id, said.message_id) is None
    # only_if_banned on a banned user lifts the ban: left, not a member
    assert await bot.unban_chat_member(ids.group_id, ids.bob_id, only_if_banned=True)
    assert sandbox.driver.status(ids.group_id, ids.bob_id) is Status.LEFT
    # only_if_banned leaves members alone; without it, unban removes a member (a "kick")
    assert await bot.unban_chat_member(ids.group_id, ids.carol_id, only_if_banned=True)
    assert sandbox.driver.status(ids.group_id, ids.carol_id) is Status.MEMBER
    assert await bot.unban_chat_member(ids.group_id, ids.carol_id)
    assert sandbox.driver.status(ids.group_id, ids.carol_id) is Status.LEFT
    with pytest.raises(BadRequest, match=r"(?i)can't remove chat owner"):
        await bot.ban_chat_member(ids.group_id, ids.owner_id)
    sandbox.driver.promote(ids.group_id, ids.dave_id, by=ids.owner_id)
    with pytest.raises(BadRequest, match=r"(?i)user is an administrator of the chat"):
        await bot.ban_chat_member(ids.group_id, ids.dave_id)


async def test_a_requester_may_be_written_to_for_5_minutes_only(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    sandbox.driver.request_join(ids.group_id, ids.dave_id)
    await bot.send_message(ids.dave_id, "join the channels first")  # user_chat_id, never started
    world = sandbox.world
    asked = world.now()
    world.clock = lambda: asked + World.JOIN_REQUEST_DM_SECONDS - 1
    await bot.send_message(ids.dave_id, "still 1 s left")
    world.clock = lambda: asked + World.JOIN_REQUEST_DM_SECONDS
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(ids.dave_id, "5 minutes later")
    assert [r.user_id for r in sandbox.driver.join_requests(ids.group_id)] == [ids.dave_id]
    assert await bot.decline_chat_join_request(ids.group_id, ids.dave_id)


async def test_join_requests(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    channel = ids.private_channel_id
    sandbox.driver.request_join(channel, ids.dave_id, bio="hi")
    sandbox.driver.request_join(channel, ids.carol_id)
    assert {r.user_id for r in sandbox.driver.join_requests(channel)} == {
        ids.dave_id,
        ids.carol_id,
    }
    # the bot may write to a requester while the request is pending (user_chat_id)
    await bot.send_message(ids.dave_id, "please read the rules")
    assert await bot.approve_chat_join_request(channel, ids.dave_id)
    assert sandbox.driver.is_member(channel, ids.dave_id)
    # once the request is processed, the bot may not start a conversation any more
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(ids.dave_id, "welcome")
    assert await bot.decline_chat_join_request(channel, ids.carol_id)
    assert sandbox.driver.status(channel, ids.carol_id) is Status.LEFT
    assert sandbox.driver.join_requests(channel) == []
    with pytest.raises(BadRequest, match=r"(?i)HIDE_REQUESTER_MISSING"):
        await bot.decline_chat_join_request(channel, ids.carol_id)
    with pytest.raises(BadRequest, match=r"(?i)USER_ALREADY_PARTICIPANT"):
        await bot.approve_chat_join_request(channel, ids.dave_id)


async def test_invite_links(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    link = await bot.create_chat_invite_link(
        ids.private_channel_id, name="fsub", creates_join_request=True
    )
    assert link.invite_link.startswith("https://t.me/+")
    assert link.creates_join_request is True
    assert link.is_primary is False
    assert link.creator.id == ids.bot_id
    assert link.name == "fsub"
    limited = await bot.create_chat_invite_link(ids.private_channel_id, member_limit=5)
    assert limited.member_limit == 5
    with pytest.raises(BadRequest, match=r"(?i)member limit can't be specified"):
        await bot.create_chat_invite_link(
            ids.private_channel_id, member_limit=5, creates_join_request=True
        )
    first = await bot.export_chat_invite_link(ids.private_channel_id)
    second = await bot.export_chat_invite_link(ids.private_channel_id)
    assert first != second
    assert sandbox.world.invite_links[first].is_revoked  # a new primary link revokes the old
    assert (await bot.get_chat(ids.private_channel_id)).invite_link == second
    # a join through a request link becomes a join request
    sandbox.driver.request_join(ids.private_channel_id, ids.dave_id, invite_link=link.invite_link)
    assert sandbox.driver.join_requests(ids.private_channel_id)[0].invite_link == link.invite_link
    sandbox.driver.promote_bot(
        ids.private_channel_id, AdminRights(can_post_messages=True), by=ids.owner_id
    )
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.create_chat_invite_link(ids.private_channel_id)


async def test_my_commands_per_scope(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("why", "Why am I muted?")]
    assert await bot.set_my_commands(commands)
    assert await bot.get_my_commands() == tuple(commands)
    scope = BotCommandScopeChat(ids.group_id)
    assert await bot.get_my_commands(scope=scope) == ()
    await bot.set_my_commands(
        [BotCommand("settings", "Settings")], scope=scope, language_code="de"
    )
    assert [c.command for c in await bot.get_my_commands(scope=scope, language_code="de")] == [
        "settings"
    ]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert sandbox.calls.count("setMyCommands", ok=False) == 1
