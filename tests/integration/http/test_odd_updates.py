"""Well-formed but odd updates through the webhook: every one answered, no handler fails.

Point 7 of "Enforcement that holds when the world pushes back": a few hundred updates that the
Bot API allows but the bot rarely sees (no sender, sent on behalf of a chat, private chats and
channels where a group was expected, topics, inaccessible or inline messages under buttons, join
requests to channels, kinds the bot never asked for) are POSTed to a running bot. Each must be
answered 200 and handled (or, for kinds the bot did not ask for, dropped) without a handler
raising: `on_error`'s "update.failed" is an ERROR line and a Sentry event.

The updates are generated from a seeded `random.Random`, so a failure names an update that the
same seed produces again. They refer only to chats and people the sandbox knows: the question is
how the handlers take the shape of an update, not how they take a Telegram that answers "chat
not found" to the bot's calls.
"""

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from adapters.metrics import UPDATE_TYPES, updates_handled
from adapters.telegram.rate_limiter import SendLimits
from adapters.telegram.updates import ALLOWED_UPDATES
from telegram_sandbox import GROUP_ANONYMOUS_BOT_ID, TELEGRAM_SERVICE_ID, SeededWorld
from telegram_sandbox.state import (
    CallbackQueryState,
    ChatType,
    Member,
    Permissions,
    Status,
    World,
)
from tests.integration.conftest import DatabaseFactory
from tests.integration.http.conftest import (
    SECRET,
    WEBHOOK_PATH,
    Served,
    sample,
    scrape,
    serving_bot,
)

SEED = 20_240_607
COUNT = 400
"""How many odd updates one run posts."""
HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHANNEL_BOT_ID = 136_817_688
"""The "Channel" user Telegram puts in `from` of messages sent on behalf of a channel."""
NOT_REQUESTED = (
    "channel_post",
    "edited_channel_post",
    "message_reaction",
    "chosen_inline_result",
    "inline_query",
    "business_message",
)
"""Kinds the bot does not ask for; Telegram may still deliver them around a setWebhook."""

type Json = dict[str, Any]


@pytest.fixture
async def fast_bot(database_factory: DatabaseFactory) -> AsyncIterator[Served]:
    """The bot in webhook mode, sending 30 times faster than Telegram allows."""
    limits = SendLimits().scaled(30)
    async with serving_bot(database_factory, webhook=True, send_limits=limits) as served:
        yield served


class OddUpdates:
    """Generates well-formed updates with the optional parts chosen at random.

    Attributes:
        world: The sandbox's world (its users and chats are the updates' users and chats; the
            callback queries generated are registered in it so the bot can answer them).
        ids: The seeded world's ids.
        rng: The seeded source of every choice.
    """

    def __init__(self, world: World, ids: SeededWorld, rng: random.Random) -> None:
        self.world, self.ids, self.rng = world, ids, rng
        self.next_id = 970_000
        self.people = [ids.owner_id, ids.bob_id, ids.carol_id, ids.dave_id]

    def number(self) -> int:
        self.next_id += 1
        return self.next_id

    def user(self, user_id: int | None = None) -> Json:
        user = self.world.users[user_id or self.rng.choice(self.people)].to_api()
        if self.rng.random() < 0.2:
            user["is_premium"] = True
        return user

    def chat(self, chat_id: int) -> Json:
        chat = self.world.chats[chat_id].to_api()
        if chat_id == self.ids.group_id and self.rng.random() < 0.3:
            chat["is_forum"] = True
        return chat

    def private_chat(self, user_id: int) -> Json:
        user = self.world.users[user_id]
        return {"id": user_id, "type": "private", "first_name": user.first_name}

    def any_chat(self) -> Json:
        ids = self.ids
        choice = self.rng.choice(
            ["group", "group", "news", "insiders", "private"],
        )
        if choice == "private":
            return self.private_chat(self.rng.choice(self.people))
        chat_id = {"group": ids.group_id, "news": ids.news_channel_id}.get(
            choice, ids.private_channel_id
        )
        return self.chat(chat_id)

    def text(self) -> tuple[str, list[Json]]:
        rng = self.rng
        kind = rng.choice(["plain", "command", "command", "mention", "empty_entities"])
        if kind == "plain":
            return rng.choice(["hi", "", " ", "ünïcødé 🌸", "/"]), []
        if kind == "mention":
            user = self.user()
            mention = {"type": "text_mention", "offset": 0, "length": 4, "user": user}
            return "look at him", [mention]
        if kind == "empty_entities":
            return "#tag", [{"type": "hashtag", "offset": 0, "length": 4}]
        command = rng.choice(
            [
                "/start",
                "/help",
                "/status",
                "/check",
                "/settings",
                "/settings warning_ttl",
                "/settings a b c",
                "/why",
                f"/why {self.ids.carol_id}",
                "/why 99999999999999999999",
                "/exempt",
                "/unexempt 0",
                "/unlink",
                "/unlink @nowhere",
                "/protect",
                "/unprotect",
                "/start@someone_elses_bot",
            ]
        )
        name = command.split()[0]
        return command, [{"type": "bot_command", "offset": 0, "length": len(name)}]

    def message(self, chat: Json | None = None, *, replied: bool = True) -> Json:
        rng, ids = self.rng, self.ids
        chat = chat if chat is not None else self.any_chat()
        message: Json = {"message_id": self.number(), "date": 1_700_000_000, "chat": chat}
        sender = rng.choice(["user", "user", "user", "none", "anonymous", "channel", "forward"])
        if sender == "user":
            message["from"] = self.user()
        elif sender == "anonymous":  # an anonymous admin writes as the group itself
            message["from"] = self.user(GROUP_ANONYMOUS_BOT_ID)
            message["sender_chat"] = chat
        elif sender == "channel":  # a member writes on behalf of a channel
            message["from"] = {"id": CHANNEL_BOT_ID, "is_bot": True, "first_name": "Channel"}
            message["sender_chat"] = self.chat(rng.choice([ids.news_channel_id, ids.group_id]))
        elif sender == "forward":  # the channel's post, forwarded into its discussion group
            message["from"] = self.user(TELEGRAM_SERVICE_ID)
            message["sender_chat"] = self.chat(ids.news_channel_id)
            message["is_automatic_forward"] = True
        content = rng.choice(["text", "text", "text", "joined", "left", "photo", "nothing"])
        if content == "text":
            message["text"], entities = self.text()
            if entities:
                message["entities"] = entities
        elif content == "joined":
            message["new_chat_members"] = [self.user() for _ in range(rng.randint(1, 3))]
        elif content == "left":
            message["left_chat_member"] = self.user()
        elif content == "photo":
            photo = {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}
            message["photo"] = [photo]
            message["caption"] = "/status"
        if rng.random() < 0.25:
            message["message_thread_id"] = rng.randint(1, 5)
            if rng.random() < 0.5:
                message["is_topic_message"] = True
        if replied and rng.random() < 0.3:
            message["reply_to_message"] = self.message(chat, replied=False)
        return message

    def member(self, user: Json, chat_type: str) -> Json:
        status = self.rng.choice(list(Status))
        member = Member(
            user["id"],
            status,
            permissions=Permissions.none() if status is Status.RESTRICTED else None,
            is_member=self.rng.random() < 0.5,
            until_date=self.rng.choice([0, 1_800_000_000]),
        )
        api: Json = member.to_api(self.world.users[user["id"]], ChatType(chat_type))
        api["user"] = user
        return api

    def member_change(self, *, bot: bool) -> Json:
        chat = self.any_chat()
        user = self.user(self.ids.bot_id) if bot else self.user()
        return {
            "chat": chat,
            "from": self.user(),
            "date": 1_700_000_000,
            "old_chat_member": self.member(user, chat["type"]),
            "new_chat_member": self.member(user, chat["type"]),
        }

    def callback_query(self) -> Json:
        rng, ids = self.rng, self.ids
        presser = self.user()
        query_id = f"odd-{self.number()}"
        chat = self.any_chat()
        query: Json = {"id": query_id, "from": presser, "chat_instance": str(rng.randint(1, 9))}
        data = rng.choice(
            [
                f"verify:{presser['id']}",
                f"verify:{ids.carol_id}",
                "verify:",
                "set:warning_ttl=1h",
                "set:nothing=1",
                "garbage",
                "",
                None,
            ]
        )
        if data is None:
            query["game_short_name"] = "game"
        else:
            query["data"] = data
        where = rng.choice(["message", "message", "inaccessible", "inline"])
        message_id = self.number()
        if where == "message":
            message = self.message(chat)
            message["message_id"] = message_id
            message["from"] = self.user(ids.bot_id)
            query["message"] = message
        elif where == "inaccessible":
            query["message"] = {"chat": chat, "message_id": message_id, "date": 0}
        else:
            query["inline_message_id"] = f"inline-{message_id}"
        self.world.callback_queries[query_id] = CallbackQueryState(
            query_id, presser["id"], chat["id"], message_id, data
        )
        return query

    def join_request(self) -> Json:
        ids, rng = self.ids, self.rng
        chat = self.chat(rng.choice([ids.group_id, ids.news_channel_id, ids.private_channel_id]))
        user = self.user()
        request: Json = {
            "chat": chat,
            "from": user,
            "user_chat_id": user["id"],
            "date": 1_700_000_000,
        }
        if rng.random() < 0.5:
            request["bio"] = "hello"
        if rng.random() < 0.3:
            request["invite_link"] = {
                "invite_link": "https://t.me/+abc...",
                "creator": self.user(ids.owner_id),
                "creates_join_request": True,
                "is_primary": False,
                "is_revoked": False,
            }
        return request

    def not_requested(self, kind: str) -> Json:
        ids = self.ids
        if kind in ("channel_post", "edited_channel_post"):
            post = self.message(self.chat(ids.news_channel_id), replied=False)
            post.pop("from", None)
            post["sender_chat"] = self.chat(ids.news_channel_id)
            return post
        if kind == "message_reaction":
            return {
                "chat": self.chat(ids.group_id),
                "message_id": 1,
                "user": self.user(),
                "date": 1_700_000_000,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        if kind == "chosen_inline_result":
            return {"result_id": "r", "from": self.user(), "query": "/start"}
        if kind == "inline_query":
            return {"id": "q", "from": self.user(), "query": "/start", "offset": ""}
        message = self.message(self.private_chat(ids.carol_id), replied=False)
        message["business_connection_id"] = "b"
        return message

    def update(self) -> Json:
        kind = self.rng.choice([*ALLOWED_UPDATES, *ALLOWED_UPDATES, *NOT_REQUESTED])
        makers: dict[str, Callable[[], Json]] = {
            "message": self.message,
            "edited_message": lambda: {**self.message(), "edit_date": 1_700_000_001},
            "callback_query": self.callback_query,
            "chat_member": lambda: self.member_change(bot=False),
            "my_chat_member": lambda: self.member_change(bot=True),
            "chat_join_request": self.join_request,
        }
        payload = makers[kind]() if kind in makers else self.not_requested(kind)
        return {"update_id": self.number(), kind: payload}


def _handled() -> float:
    return sum(updates_handled(kind) for kind in UPDATE_TYPES)


async def test_odd_but_well_formed_updates_are_answered_200_and_no_handler_fails(
    fast_bot: Served, caplog: pytest.LogCaptureFixture
) -> None:
    ids, sandbox, http = fast_bot.ids, fast_bot.sandbox, fast_bot.http
    sandbox.world.started.update([ids.owner_id, ids.bob_id, ids.carol_id, ids.dave_id])
    # Protected, so that messages and presses reach enforcement and not only "not protected".
    handled_at_start = _handled()
    sandbox.driver.say(ids.group_id, ids.owner_id, "/protect @nezuko_demo_news")
    await sandbox.calls.wait_for("sendMessage", timeout=10)
    await sandbox.wait_until(lambda: _handled() > handled_at_start, timeout=60)
    odd = OddUpdates(sandbox.world, ids, random.Random(SEED))
    updates = [odd.update() for _ in range(COUNT)]
    requested = [u for u in updates if set(u) & set(ALLOWED_UPDATES)]
    caplog.set_level(logging.INFO)
    before, handled_before = await scrape(http), _handled()

    statuses: dict[int, int] = {}
    for update in updates:
        answer = await http.post(
            WEBHOOK_PATH, content=json.dumps(update), headers={HEADER: SECRET}
        )
        statuses[update["update_id"]] = answer.status_code

    refused = {u: s for u, s in statuses.items() if s != 200}
    assert refused == {}, [u for u in updates if u["update_id"] in refused][:3]
    # The bot's own calls make the sandbox deliver updates too (a mute is a chat_member
    # update), so what it handles is at least what was posted of the kinds it asks for.
    await sandbox.wait_until(lambda: _handled() >= handled_before + len(requested), timeout=120)
    await sandbox.wait_delivered(timeout=60)
    await asyncio.sleep(0.5)  # the last ones' handlers end, and anything dropped would show
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in failures] == []
    after = await scrape(http)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("nezuko_updates_total", type="other") == 0  # not one unrequested kind handled
    ignored = grew("nezuko_webhook_requests_total", outcome="ignored")
    assert ignored == len(updates) - len(requested) > 0
    assert grew("nezuko_webhook_requests_total", outcome="accepted") >= len(requested)
    assert len(requested) > COUNT // 2  # most of them reach the handlers
