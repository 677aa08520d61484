"""`TelegramMessenger` passes the messenger contract over PTB's HTTP stack, and renders as told."""

from typing import Any

import pytest
from telegram.ext import ExtBot

from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.texts import verify_data
from application.errors import BotLacksRights
from application.ports.messenger import (
    AdminNotice,
    ChatKind,
    LogBatch,
    MemberNotice,
    MuteWarning,
)
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, MessageId, UserId
from domain.membership import Membership, MemberStatus
from domain.notices import NoticeKind
from domain.policy import ChannelRef, RequiredChannel
from domain.restriction import WarningReason
from domain.senders import Person
from telegram_sandbox import AdminRights, Member, Sandbox, Status
from tests.contracts.messenger import MessengerContract
from tests.factories import T0
from tests.integration.telegram.conftest import SandboxWorld


class TestTelegramMessenger(MessengerContract):
    """The contract, run against the sandbox (fixtures in conftest.py)."""


def _warning(world: SandboxWorld, thread_id: int | None = None) -> MuteWarning:
    return MuteWarning(
        world.group,
        Person(world.member, "Mel <&>"),
        (
            RequiredChannel(world.channel, "News <1>", world.channel_username),
            RequiredChannel(world.private_channel, "Insiders & co", None, "https://t.me/+abc"),
        ),
        WarningReason.SPOKE,
        thread_id,
    )


def test_bot_id_is_known_from_the_token_before_initialize(sandbox: Sandbox) -> None:
    messenger = TelegramMessenger(ExtBot(sandbox.token, base_url=sandbox.base_url))
    assert messenger.bot_id == sandbox.driver.bot.id
    assert TelegramMessenger(ExtBot("x:y"), bot_id=UserId(5)).bot_id == 5
    with pytest.raises(ValueError, match="bot_id"):
        TelegramMessenger(ExtBot("not-a-token"))


async def test_membership_maps_every_status(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    channel, user = world.channel, world.member
    assert await messenger.membership(channel, world.owner) == Membership(MemberStatus.CREATOR)
    assert await messenger.membership(channel, messenger.bot_id) == Membership(
        MemberStatus.ADMINISTRATOR
    )
    for status, is_member in (
        (MemberStatus.MEMBER, False),
        (MemberStatus.RESTRICTED, True),
        (MemberStatus.RESTRICTED, False),
        (MemberStatus.LEFT, False),
        (MemberStatus.KICKED, False),
    ):
        await world.set_channel_status(channel, user, status, is_member=is_member)
        found = await messenger.membership(channel, user)
        assert found == Membership(status, is_member=is_member)
        assert found.is_present == (status is MemberStatus.MEMBER or is_member)
    assert {c.method for c in sandbox.calls.all()} == {"getMe", "getChatMember"}


async def test_rights_of_owner_admin_member_and_the_bot(
    messenger: TelegramMessenger, world: SandboxWorld
) -> None:
    owner = await messenger.rights(world.group, world.owner)
    assert owner.status is MemberStatus.CREATOR
    assert owner.can_configure
    assert owner.can_invite_users
    admin = await messenger.rights(world.group, world.admin)
    assert admin.status is MemberStatus.ADMINISTRATOR
    assert (admin.can_restrict_members, admin.can_delete_messages, admin.can_invite_users) == (
        True,
        True,
        False,
    )
    member = await messenger.rights(world.group, world.member)
    assert member.status is MemberStatus.MEMBER
    assert not member.is_admin
    weak = await messenger.rights(world.weak_group, messenger.bot_id)
    assert weak.is_admin
    assert not weak.can_restrict_members
    in_channel = await messenger.rights(world.private_channel, messenger.bot_id)
    assert in_channel.can_invite_users


async def test_admins_include_the_bot_and_the_owner(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    assert await messenger.admins(world.group) == {world.owner, world.admin, messenger.bot_id}
    call = sandbox.calls.last("getChatAdministrators")
    assert call is not None
    assert call.param("return_bots") is True


async def test_chat_lookup_describes_the_chat(
    messenger: TelegramMessenger, world: SandboxWorld
) -> None:
    group = await messenger.chat(ChannelRef(channel_id=ChannelId(world.group)))
    assert (group.kind, group.title, group.username) == (
        ChatKind.SUPERGROUP,
        "Test <Group> & Co",
        None,
    )
    news = await messenger.chat(ChannelRef(username=world.channel_username.upper()))
    assert (news.chat_id, news.title, news.username) == (
        world.channel,
        "News",
        world.channel_username,
    )


async def test_restrict_sends_no_permissions_and_unrestrict_every_permission(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    await messenger.restrict(world.group, world.member)
    muted = sandbox.calls.last("restrictChatMember")
    assert muted is not None
    assert muted.param("use_independent_chat_permissions") is True
    mute_rights: dict[str, Any] = muted.param("permissions")
    assert len(mute_rights) >= 14
    assert not any(mute_rights.values())
    assert not sandbox.driver.can_send(world.group, world.member)
    assert sandbox.driver.member(world.group, world.member).is_member

    await messenger.unrestrict(world.group, world.member)
    lifted = sandbox.calls.last("restrictChatMember")
    assert lifted is not None
    assert lifted.param("use_independent_chat_permissions") is True
    lift_rights: dict[str, Any] = lifted.param("permissions")
    assert set(lift_rights) == set(mute_rights)
    assert all(lift_rights.values())
    for right in ("can_invite_users", "can_pin_messages", "can_change_info", "can_manage_topics"):
        assert lift_rights[right] is True
    assert sandbox.driver.status(world.group, world.member) is Status.MEMBER
    assert sandbox.driver.can_send(world.group, world.member)


async def test_restricting_someone_who_left_keeps_them_out(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    sandbox.driver.leave(world.group, world.member)
    await messenger.restrict(world.group, world.member)
    assert await messenger.membership(world.group, world.member) == Membership(
        MemberStatus.RESTRICTED, is_member=False
    )
    await messenger.unrestrict(world.group, world.member)
    assert await messenger.membership(world.group, world.member) == Membership(MemberStatus.LEFT)


async def test_unrestricting_an_admin_or_the_owner_is_a_no_op(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    await messenger.unrestrict(world.group, world.admin)
    await messenger.unrestrict(world.group, world.owner)
    assert [c.ok for c in sandbox.calls.of("restrictChatMember")] == [False, False]
    assert sandbox.driver.status(world.group, world.admin) is Status.ADMINISTRATOR


async def test_kick_bans_then_lifts_the_ban_so_they_can_come_back(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    await messenger.kick(world.group, world.member)
    assert [c.method for c in sandbox.calls.all()] == [
        "getMe",
        "banChatMember",
        "unbanChatMember",
    ]
    unban = sandbox.calls.last("unbanChatMember")
    assert unban is not None
    assert unban.param("only_if_banned") is True
    assert sandbox.driver.status(world.group, world.member) is Status.LEFT
    sandbox.driver.join(world.group, world.member)
    assert sandbox.driver.is_member(world.group, world.member)


async def test_kick_of_someone_not_in_the_group_is_harmless(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    await messenger.kick(world.group, world.stranger)
    assert sandbox.driver.status(world.group, world.stranger) is Status.LEFT


async def test_warning_is_escaped_html_with_join_and_verify_buttons(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    message_id = await messenger.send_warning(_warning(world))
    shown = sandbox.driver.message(world.group, message_id)
    assert shown is not None
    assert shown.text is not None
    assert "Mel <&>" in shown.text
    assert "News <1>" in shown.text
    assert "Insiders & co" in shown.text
    assert any(e.get("type") == "text_mention" or "url" in e for e in shown.entities)
    buttons = shown.buttons()
    assert [b.get("text") for b in buttons] == [
        "Join News <1>",
        "Join Insiders & co",
        "Verify",
        "Why am I muted?",
    ]
    assert buttons[0].get("url") == f"https://t.me/{world.channel_username}"
    assert buttons[1].get("url") == "https://t.me/+abc"
    assert buttons[2].get("callback_data") == verify_data(world.member)
    assert str(buttons[3].get("url")).endswith("?start=muted")  # the private chat (rule 12)
    call = sandbox.calls.last("sendMessage")
    assert call is not None
    assert call.param("parse_mode") == "HTML"
    assert call.param("message_thread_id") is None


async def test_warning_goes_to_the_forum_topic_the_member_wrote_in(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    topic = sandbox.driver.create_topic(world.group, "Chat", by=world.owner)
    message_id = await messenger.send_warning(_warning(world, thread_id=topic))
    shown = sandbox.driver.message(world.group, message_id)
    assert shown is not None
    assert shown.thread_id == topic


async def test_warning_for_a_vanished_topic_goes_to_the_general_topic(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    message_id = await messenger.send_warning(_warning(world, thread_id=777))
    shown = sandbox.driver.message(world.group, message_id)
    assert shown is not None
    assert shown.thread_id is None
    assert [c.status for c in sandbox.calls.of("sendMessage")] == [400, 200]


@pytest.mark.parametrize("kind", [NoticeKind.CHECKS_FAILING, NoticeKind.CANNOT_RESTRICT])
async def test_admin_notice_is_posted_in_the_group_with_titles_escaped(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox, kind: NoticeKind
) -> None:
    channel = RequiredChannel(world.channel, "<b>News</b> & more")
    await messenger.notify_admins(AdminNotice(world.group, kind, channel))
    shown = sandbox.driver.last_bot_message(world.group)
    assert shown is not None
    assert shown.text is not None
    assert shown.text.split(" ", 1)[1].startswith("Admins:")
    if kind is NoticeKind.CHECKS_FAILING:
        assert "<b>News</b> & more" in shown.text
    elif kind is NoticeKind.CANNOT_RESTRICT:
        assert "Ban users" in shown.text
    else:
        assert "raid mode is" in shown.text


async def test_delete_message_of_someone_else_and_of_nothing(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    said = sandbox.driver.say(world.group, world.member, "hello")
    await messenger.delete_message(world.group, MessageId(said.message_id))
    assert sandbox.driver.message(world.group, said.message_id) is None
    await messenger.delete_message(world.group, MessageId(said.message_id))
    assert [c.status for c in sandbox.calls.of("deleteMessage")] == [200, 400]


async def test_invite_link_names_are_cut_to_telegrams_limit(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    link = await messenger.create_invite_link(world.private_channel, "N" * 40)
    assert link.startswith("https://t.me/+")
    call = sandbox.calls.last("createChatInviteLink")
    assert call is not None
    assert call.param("name") == "N" * 32


async def test_a_bot_member_placed_as_admin_is_reported_as_admin(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    rights = AdminRights(can_restrict_members=True)
    sandbox.driver.place(world.group, Member(world.stranger, Status.ADMINISTRATOR, rights=rights))
    assert world.stranger in await messenger.admins(world.group)


async def test_telling_a_member_reaches_only_one_who_started_the_bot(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    """Issue 11 point 1: a bot cannot start a conversation (403); once started, it can."""
    notice = MemberNotice(world.group, world.member, NoticeKind.MEMBER_FREED, "Test <Group>")
    with pytest.raises(BotLacksRights) as refused:
        await messenger.tell_member(notice)
    assert "can't initiate conversation" in str(refused.value)
    sandbox.driver.say(world.member, world.member, "/start")
    await messenger.tell_member(notice)
    shown = sandbox.driver.last_bot_message(world.member)
    assert shown is not None
    assert shown.text is not None
    assert "Test <Group>" in shown.text
    assert "you can write there again" in shown.text


async def test_a_log_batch_is_one_message_naming_the_group_with_members_as_mentions(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    events = (
        AuditEvent.muted(
            world.group, T0, world.member, (world.channel,), reasons.MUTED_FOR[WarningReason.SPOKE]
        ),
        AuditEvent.by(world.admin, AuditKind.EXEMPTED, world.group, T0, subject=world.member),
    )
    await messenger.post_log(LogBatch(world.channel, "Test <Group>", events))
    shown = sandbox.driver.last_bot_message(world.channel)
    assert shown is not None
    assert shown.text is not None
    assert shown.text.startswith("📋 Test <Group>")
    assert len(shown.text.splitlines()) == 3
    links = {str(e.get("url")) for e in shown.entities}
    assert {f"tg://user?id={world.member}", f"tg://user?id={world.admin}"} <= links
