"""A PTB Application polling the sandbox: update shapes, ids and delivery rules."""

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import pytest
from telegram import Bot, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict

from telegram_sandbox import (
    GROUP_ANONYMOUS_BOT_ID,
    TELEGRAM_SERVICE_ID,
    AdminRights,
    Sandbox,
    SeededWorld,
)
from tests.integration.sandbox.conftest import App, Received

type Factory = Callable[
    [Sequence[str] | None], contextlib.AbstractAsyncContextManager[tuple[App, Received]]
]
WITH_MEMBERS = ["message", "callback_query", "chat_member", "my_chat_member", "chat_join_request"]


def is_text(text: str) -> Callable[[Update], bool]:
    return lambda u: u.message is not None and u.message.text == text


async def test_messages_commands_and_increasing_ids(
    app_factory: Factory, sandbox: Sandbox, ids: SeededWorld
) -> None:
    async with app_factory(["message"]) as (_, received):
        sandbox.driver.say(ids.group_id, ids.bob_id, "hello")
        sandbox.driver.say(ids.group_id, ids.bob_id, "/check@nezuko_sandbox_bot now")
        sandbox.driver.say(ids.dave_id, ids.dave_id, "/start")
        update = await received.wait_for(is_text("/start"))
        await sandbox.wait_delivered()
    ids_seen = [u.update_id for u in received.updates]
    assert ids_seen == sorted(ids_seen)
    assert len(set(ids_seen)) == 3
    hello, command, start = (u.message for u in received.updates)
    assert hello is not None
    assert command is not None
    assert start is not None
    assert hello.from_user is not None
    assert hello.from_user.id == ids.bob_id
    assert hello.chat.id == ids.group_id
    assert hello.entities == ()
    assert command.entities[0].type == "bot_command"
    assert command.entities[0].length == len("/check@nezuko_sandbox_bot")
    assert command.text is not None
    assert command.parse_entity(command.entities[0]) == "/check@nezuko_sandbox_bot"
    assert update.message is not None
    assert update.message.chat.type == "private"
    assert start.date is not None
    # the bot confirmed everything by offset: nothing pending
    assert sandbox.pending_updates == 0


async def test_reply_topic_anonymous_admin_and_auto_forward_shapes(
    app_factory: Factory, sandbox: Sandbox, ids: SeededWorld
) -> None:
    driver = sandbox.driver
    driver.supergroup(-1005, "Forum", owner_id=ids.owner_id, username="forum_y", is_forum=True)
    async with app_factory(["message", "my_chat_member"]) as (_, received):
        driver.add_bot(-1005, by=ids.owner_id, rights=AdminRights.moderator())
        driver.add(-1005, ids.bob_id, by=ids.owner_id)
        thread = driver.create_topic(-1005, "Help", by=ids.owner_id)
        in_topic = driver.say(-1005, ids.bob_id, "question", thread_id=thread)
        driver.say(-1005, ids.owner_id, "answer", reply_to=in_topic)
        driver.anonymous_admin_says(ids.group_id, "admin here", signature="Mod")
        post, forward = driver.post_in_channel(ids.news_channel_id, "news!")
        assert forward is not None
        await received.wait_for(is_text("news!"))
    question = next(u.message for u in received.updates if is_text("question")(u))
    answer = next(u.message for u in received.updates if is_text("answer")(u))
    anon = next(u.message for u in received.updates if is_text("admin here")(u))
    auto = next(u.message for u in received.updates if is_text("news!")(u))
    assert question is not None
    assert answer is not None
    assert anon is not None
    assert auto is not None
    assert question.message_thread_id == thread
    assert question.is_topic_message is True
    assert question.reply_to_message is not None
    assert question.reply_to_message.forum_topic_created is not None
    assert question.reply_to_message.forum_topic_created.name == "Help"
    assert answer.message_thread_id == thread
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.message_id == in_topic.message_id
    assert anon.from_user is not None
    assert anon.from_user.id == GROUP_ANONYMOUS_BOT_ID
    assert anon.sender_chat is not None
    assert anon.sender_chat.id == ids.group_id
    assert anon.author_signature == "Mod"
    assert auto.from_user is not None
    assert auto.from_user.id == TELEGRAM_SERVICE_ID
    assert auto.is_automatic_forward is True
    assert auto.sender_chat is not None
    assert auto.sender_chat.id == ids.news_channel_id
    assert auto.forward_origin is not None
    assert auto.chat.id == ids.group_id
    assert post.chat_id == ids.news_channel_id
    joined = [u.message for u in received.updates if u.message and u.message.new_chat_members]
    assert [m.new_chat_members[0].id for m in joined] == [ids.bot_id, ids.bob_id]
    my = [u.my_chat_member for u in received.updates if u.my_chat_member]
    assert my[0].new_chat_member.status == "administrator"


async def test_chat_member_only_when_asked_for(
    app_factory: Factory, sandbox: Sandbox, ids: SeededWorld
) -> None:
    async with app_factory(None) as (_, received):  # default: everything but chat_member
        sandbox.driver.join(ids.group_id, ids.dave_id)
        sandbox.driver.say(ids.group_id, ids.dave_id, "/sentinel")
        await received.wait_for(is_text("/sentinel"))
    assert "chat_member" not in received.kinds()
    assert received.kinds() == ["message", "message"]  # the join service message, then text
    first = received.updates[0].message
    assert first is not None
    assert first.new_chat_members[0].id == ids.dave_id


async def test_chat_member_only_where_the_bot_is_admin(
    app_factory: Factory, sandbox: Sandbox, ids: SeededWorld
) -> None:
    driver = sandbox.driver
    driver.supergroup(-1004, "Plain", owner_id=ids.owner_id, username="plain_g")
    driver.add_bot(-1004, by=ids.owner_id)  # a plain member, not an admin
    async with app_factory(WITH_MEMBERS) as (_, received):
        driver.join(-1004, ids.dave_id)  # not delivered: bot is not an admin there
        driver.join(ids.group_id, ids.dave_id)  # delivered: bot is an admin
        driver.join(ids.news_channel_id, ids.dave_id)  # channels too
        driver.say(ids.group_id, ids.dave_id, "/sentinel")
        await received.wait_for(is_text("/sentinel"))
    members = [u.chat_member for u in received.updates if u.chat_member]
    assert [m.chat.id for m in members] == [ids.group_id, ids.news_channel_id]
    first = members[0]
    assert first.old_chat_member.status == "left"
    assert first.new_chat_member.status == "member"
    assert first.from_user.id == ids.dave_id
    assert first.new_chat_member.user.id == ids.dave_id
    assert first.date is not None
    # in the non-admin group, privacy mode still shows the bot the join service message
    plain = [u.message for u in received.updates if u.message and u.message.chat.id == -1004]
    assert [m.new_chat_members[0].id for m in plain] == [ids.bot_id, ids.dave_id]


async def test_privacy_mode_hides_plain_text_from_a_member_bot(
    app_factory: Factory, sandbox: Sandbox, ids: SeededWorld
) -> None:
    driver = sandbox.driver
    driver.supergroup(-1003, "Plain", owner_id=ids.owner_id, username="plain_h")
    driver.add_bot(-1003, by=ids.owner_id)
    async with app_factory(["message"]) as (_, received):
        driver.say(-1003, ids.owner_id, "chatter")
        driver.say(-1003, ids.owner_id, "/cmd")
        await received.wait_for(is_text("/cmd"))
        driver.say(ids.group_id, ids.bob_id, "chatter")  # admin bot sees everything
        await received.wait_for(
            lambda u: u.message is not None and u.message.chat.id == ids.group_id
        )
    texts = [u.message.text for u in received.updates if u.message and u.message.text]
    assert texts == ["/cmd", "chatter"]


async def test_bot_actions_emit_chat_member_and_my_chat_member(
    app_factory: Factory, bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    async with app_factory(WITH_MEMBERS) as (_, received):
        await bot.restrict_chat_member(ids.group_id, ids.bob_id, ChatPermissions.no_permissions())
        await bot.ban_chat_member(ids.group_id, ids.carol_id)
        sandbox.driver.demote_bot(ids.group_id, by=ids.owner_id)
        await received.wait_for(lambda u: u.my_chat_member is not None)
    members = [u.chat_member for u in received.updates if u.chat_member]
    assert [(m.new_chat_member.user.id, m.new_chat_member.status) for m in members] == [
        (ids.bob_id, "restricted"),
        (ids.carol_id, "kicked"),
    ]
    assert all(m.from_user.id == ids.bot_id for m in members)
    my = next(u.my_chat_member for u in received.updates if u.my_chat_member)
    assert (my.old_chat_member.status, my.new_chat_member.status) == ("administrator", "member")
    assert my.from_user.id == ids.owner_id


async def test_callback_query_and_answer(
    app_factory: Factory, bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("I joined", callback_data="check:7")]])
    sent = await bot.send_message(ids.group_id, "join first", reply_markup=markup)
    async with app_factory(["callback_query"]) as (_, received):
        query_id = sandbox.driver.press(
            ids.bob_id, sent.message_id, "check:7", chat_id=ids.group_id
        )
        update = await received.wait_for(lambda u: u.callback_query is not None)
    query = update.callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "check:7"
    assert query.from_user.id == ids.bob_id
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert query.chat_instance
    assert sandbox.driver.callback_answer(query_id) is None
    assert await bot.answer_callback_query(query_id, text="Not yet!", show_alert=True)
    assert sandbox.driver.callback_answer(query_id) == {
        "text": "Not yet!", "show_alert": True, "url": None, "cache_time": 0
    }  # fmt: skip
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)


async def test_join_request_needs_invite_right(
    app_factory: Factory, sandbox: Sandbox, ids: SeededWorld
) -> None:
    driver = sandbox.driver
    async with app_factory(WITH_MEMBERS) as (_, received):
        driver.request_join(ids.private_channel_id, ids.dave_id, bio="let me in")
        update = await received.wait_for(lambda u: u.chat_join_request is not None)
        driver.promote_bot(
            ids.private_channel_id, AdminRights(can_post_messages=True), by=ids.owner_id
        )
        driver.request_join(ids.private_channel_id, ids.carol_id)
        driver.say(ids.group_id, ids.bob_id, "/sentinel")
        await received.wait_for(is_text("/sentinel"))
    request = update.chat_join_request
    assert request is not None
    assert request.chat.id == ids.private_channel_id
    assert request.from_user.id == ids.dave_id
    assert request.user_chat_id == ids.dave_id
    assert request.bio == "let me in"
    assert sum(1 for u in received.updates if u.chat_join_request) == 1


async def test_get_updates_offset_limit_and_conflict(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    for n in range(3):
        sandbox.driver.say(ids.group_id, ids.bob_id, f"m{n}")
    batch = await bot.get_updates(limit=2, timeout=0)
    assert [u.message.text for u in batch if u.message] == ["m0", "m1"]
    rest = await bot.get_updates(offset=batch[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["m2"]
    assert rest[0].update_id == batch[-1].update_id + 1
    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0) == ()
    assert sandbox.pending_updates == 0
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)
    call = sandbox.calls.last("getUpdates")
    assert call is not None
    assert call.error_code == 409


async def test_approving_a_join_request_emits_chat_member(
    app_factory: Factory, bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    channel = ids.private_channel_id
    async with app_factory(WITH_MEMBERS) as (_, received):
        sandbox.driver.request_join(channel, ids.dave_id)
        await received.wait_for(lambda u: u.chat_join_request is not None)
        await bot.approve_chat_join_request(channel, ids.dave_id)
        update = await received.wait_for(lambda u: u.chat_member is not None)
    joined = update.chat_member
    assert joined is not None
    assert joined.chat.id == channel
    assert joined.via_join_request is True
    assert (joined.old_chat_member.status, joined.new_chat_member.status) == ("left", "member")
    assert joined.new_chat_member.user.id == ids.dave_id
    assert joined.from_user.id == ids.bot_id


async def test_long_poll_wakes_on_a_new_update_and_a_second_poll_ends_the_first(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(bot.get_updates(timeout=5))
    await sandbox.wait_for_poller()
    sandbox.driver.say(ids.group_id, ids.bob_id, "wake up")
    updates = await waiting
    assert loop.time() - started < 2.0
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    # two pollers at once: Telegram ends the earlier one with 409
    async with Bot(sandbox.token, base_url=sandbox.base_url) as other:
        first = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=5))
        await sandbox.wait_for_poller()
        second = asyncio.create_task(other.get_updates(timeout=0))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        assert await second == ()


async def test_negative_offset_keeps_only_the_newest(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    for n in range(4):
        sandbox.driver.say(ids.group_id, ids.bob_id, f"n{n}")
    newest = await bot.get_updates(offset=-1, timeout=0)
    assert [u.message.text for u in newest if u.message] == ["n3"]
    assert sandbox.pending_updates == 1
