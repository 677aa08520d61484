"""getMe, sendMessage, editMessageText, deleteMessage through PTB's Bot over HTTP."""

import re

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden

from telegram_sandbox import AdminRights, Sandbox, SeededWorld

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Join", url="https://t.me/nezuko_demo_news")],
     [InlineKeyboardButton("I joined", callback_data="check:1")]]
)  # fmt: skip


async def test_get_me_describes_the_bot(bot: Bot, sandbox: Sandbox) -> None:
    me = await bot.get_me()
    assert me.id == int(sandbox.token.split(":")[0])
    assert me.is_bot
    assert me.username == "nezuko_sandbox_bot"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False  # privacy mode on, as on Telegram


async def test_send_message_returns_a_full_message(bot: Bot, ids: SeededWorld) -> None:
    first = await bot.send_message(ids.group_id, "hello")
    second = await bot.send_message(ids.group_id, "<b>Join</b> the channel", parse_mode="HTML")
    assert (first.message_id, second.message_id) == (1, 2)  # per-chat counter
    assert second.text == "Join the channel"
    assert second.entities == (MessageEntity(MessageEntity.BOLD, 0, 4),)
    assert second.chat.id == ids.group_id
    assert second.chat.type == "supergroup"
    assert second.from_user is not None
    assert second.from_user.id == ids.bot_id


async def test_html_entity_offsets_count_utf16_units(bot: Bot, ids: SeededWorld) -> None:
    sent = await bot.send_message(ids.group_id, "😀 <i>hi</i>", parse_mode="HTML")
    assert sent.entities == (MessageEntity(MessageEntity.ITALIC, 3, 2),)


async def test_send_message_keeps_inline_keyboard_and_reply(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    said = sandbox.driver.say(ids.group_id, ids.bob_id, "hi all")
    sent = await bot.send_message(
        ids.group_id,
        "please join",
        reply_markup=KEYBOARD,
        reply_parameters=ReplyParameters(said.message_id),
    )
    assert sent.reply_markup == KEYBOARD
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.message_id == said.message_id
    assert sent.reply_to_message.text == "hi all"
    shown = sandbox.driver.last_bot_message(ids.group_id)
    assert shown is not None
    assert [b["callback_data"] for b in shown.buttons() if "callback_data" in b] == ["check:1"]


async def test_send_message_into_a_forum_topic(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    driver = sandbox.driver
    driver.supergroup(-1009, "Forum", owner_id=ids.owner_id, username="forum_g", is_forum=True)
    driver.add_bot(-1009, by=ids.owner_id, rights=AdminRights.moderator())
    thread = driver.create_topic(-1009, "Rules", by=ids.owner_id)
    sent = await bot.send_message(-1009, "in the topic", message_thread_id=thread)
    assert sent.message_thread_id == thread
    assert sent.is_topic_message is True
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.forum_topic_created is not None
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(-1009, "nowhere", message_thread_id=999)


async def test_send_message_errors(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-100777, "x")
    assert sandbox.calls.last("sendMessage").description == "Bad Request: chat not found"  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ids.group_id, "   ")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ids.group_id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(ids.group_id, "x", reply_parameters=ReplyParameters(999))
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
        await bot.send_message(ids.dave_id, "hi")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(ids.group_id, "<b>open", parse_mode="HTML")


async def test_bot_outside_a_group_is_forbidden(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    sandbox.driver.supergroup(-1008, "Foreign", owner_id=ids.owner_id, username="foreign_g")
    with pytest.raises(Forbidden):
        await bot.send_message(-1008, "hello")
    call = sandbox.calls.last("sendMessage")
    assert call is not None
    assert call.error_code == 403
    assert call.description == "Forbidden: bot is not a member of the supergroup chat"
    sandbox.driver.remove_bot(ids.group_id, by=ids.owner_id)
    with pytest.raises(Forbidden, match="kicked"):
        await bot.send_message(ids.group_id, "hello")


async def test_private_chat_after_start_and_after_block(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    sandbox.driver.say(ids.dave_id, ids.dave_id, "/start")
    sent = await bot.send_message(ids.dave_id, "welcome")
    assert sent.chat.type == "private"
    assert sent.chat.id == ids.dave_id
    sandbox.driver.block_bot(ids.dave_id)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(ids.dave_id, "still there?")


async def test_edit_message_text(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    sent = await bot.send_message(ids.group_id, "please join", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text(
        "thanks!", chat_id=ids.group_id, message_id=sent.message_id
    )
    assert not isinstance(edited, bool)
    assert edited.text == "thanks!"
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # editing without reply_markup removes the keyboard
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("thanks!", chat_id=ids.group_id, message_id=sent.message_id)
    call = sandbox.calls.last("editMessageText")
    assert call is not None
    assert call.description is not None
    assert call.description.startswith("Bad Request: message is not modified: ")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=ids.group_id, message_id=999)
    said = sandbox.driver.say(ids.group_id, ids.bob_id, "mine")
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", chat_id=ids.group_id, message_id=said.message_id)


async def test_delete_message(bot: Bot, sandbox: Sandbox, ids: SeededWorld) -> None:
    sent = await bot.send_message(ids.group_id, "temporary")
    said = sandbox.driver.say(ids.group_id, ids.bob_id, "spam")
    assert await bot.delete_message(ids.group_id, sent.message_id) is True
    assert await bot.delete_message(ids.group_id, said.message_id) is True
    assert sandbox.driver.shown(ids.group_id) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(ids.group_id, sent.message_id)
    call = sandbox.calls.last("deleteMessage")
    assert call is not None
    assert call.description == "Bad Request: message to delete not found"
    # without can_delete_messages the bot may delete only its own messages
    sandbox.driver.promote_bot(
        ids.group_id, AdminRights(can_restrict_members=True), by=ids.owner_id
    )
    other = sandbox.driver.say(ids.group_id, ids.bob_id, "more spam")
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await bot.delete_message(ids.group_id, other.message_id)


async def test_channel_posting_needs_admin_rights(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    post = await bot.send_message(ids.news_channel_id, "news")
    assert post.sender_chat is not None
    assert post.sender_chat.id == ids.news_channel_id
    assert post.from_user is None
    sandbox.driver.promote_bot(
        ids.news_channel_id, AdminRights(can_invite_users=True), by=ids.owner_id
    )
    with pytest.raises(
        BadRequest, match=re.escape("Need administrator rights in the channel chat")
    ):
        await bot.send_message(ids.news_channel_id, "news")
