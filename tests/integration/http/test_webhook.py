"""Webhook mode end to end: the sandbox POSTs updates to the bot's own HTTP server.

Covers issue 5's "Done when" lines for the webhook: a wrong or missing secret is refused and
nothing is processed; a malformed body gets 400 and the bot keeps serving; and a graceful stop
handles every update already taken (rule 10).
"""

import asyncio
import json
import logging
from collections.abc import Callable

import pytest
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from adapters.telegram.updates import ALLOWED_UPDATES
from adapters.telegram.webhook import UpdateIntake
from bootstrap.bot import build_application, taking_updates
from bootstrap.settings import Settings
from telegram_sandbox import Call, FloodLimits, HangFault, Sandbox
from telegram_sandbox.state import CallbackQueryState, WebhookConfig
from tests.integration.conftest import DatabaseFactory
from tests.integration.http.conftest import (
    SECRET,
    WEBHOOK_PATH,
    Served,
    sample,
    scrape,
    serving_bot,
)

TIMEOUT = 10.0
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _to(user: int) -> Callable[[Call], bool]:
    return lambda call: call.param("user_id") == user


async def protect(served: Served) -> None:
    ids, driver, calls = served.ids, served.sandbox.driver, served.sandbox.calls
    mark = calls.mark()
    driver.say(ids.group_id, ids.owner_id, f"/protect @nezuko_demo_news {ids.private_channel_id}")
    reply = await calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    assert "Protection is on" in str(reply.param("text"))
    await served.sandbox.wait_delivered(timeout=TIMEOUT)


async def test_webhook_mode_sets_the_webhook_and_mutes_a_member_who_joins(
    webhook_bot: Served,
) -> None:
    ids, sandbox = webhook_bot.ids, webhook_bot.sandbox
    set_webhook = sandbox.calls.last("setWebhook")
    assert set_webhook is not None
    assert set_webhook.param("url") == webhook_bot.webhook_url
    assert set_webhook.param("secret_token") == SECRET
    assert set(set_webhook.param("allowed_updates")) == set(ALLOWED_UPDATES)
    await protect(webhook_bot)
    mark = sandbox.calls.mark()

    sandbox.driver.join(ids.group_id, ids.dave_id)

    await sandbox.calls.wait_for("restrictChatMember", _to(ids.dave_id), since=mark, timeout=10)
    warning = await sandbox.calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    assert f"tg://user?id={ids.dave_id}" in str(warning.param("text"))
    assert sandbox.driver.is_restricted(ids.group_id, ids.dave_id)
    assert sandbox.webhook.delivered >= 2  # the /protect command and the join
    assert sandbox.webhook.failures == 0
    assert sandbox.calls.count("getUpdates") == 0  # no long polling in webhook mode


@pytest.mark.parametrize(
    ("presented", "status"),
    [("a-wrong-secret", "403 Forbidden"), (None, "401 Unauthorized")],
    ids=["wrong", "missing"],
)
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_processed(
    webhook_bot: Served, presented: str | None, status: str
) -> None:
    ids, sandbox = webhook_bot.ids, webhook_bot.sandbox
    driver, world = sandbox.driver, sandbox.world
    await protect(webhook_bot)
    before = await scrape(webhook_bot.http)
    failures = sandbox.webhook.failures
    # Someone else points the bot's webhook at us with a wrong (or no) secret.
    world.webhook = WebhookConfig(webhook_bot.webhook_url, presented)
    mark = sandbox.calls.mark()

    spoken = driver.say(ids.group_id, ids.carol_id, "hello")

    await sandbox.wait_until(lambda: sandbox.webhook.failures >= failures + 3, timeout=TIMEOUT)
    hook = world.webhook
    assert hook is not None
    assert hook.last_error_message == f"Wrong response from the webhook: {status}"
    assert sandbox.pending_updates == 1  # refused, so still waiting for delivery
    assert driver.message(ids.group_id, spoken.message_id) is not None  # not deleted
    assert not driver.is_restricted(ids.group_id, ids.carol_id)
    assert sandbox.calls.all(since=mark) == []  # the bot made no call at all
    after = await scrape(webhook_bot.http)
    outcome = "wrong_secret" if presented else "missing_secret"
    refused = sample(after, "nezuko_webhook_requests_total", outcome=outcome)
    assert refused - sample(before, "nezuko_webhook_requests_total", outcome=outcome) >= 3
    assert sample(after, "nezuko_updates_total", type="message") == sample(
        before, "nezuko_updates_total", type="message"
    )

    # With the right secret again, Telegram's retry delivers the same update: nothing was lost.
    world.webhook = WebhookConfig(webhook_bot.webhook_url, SECRET)
    sandbox.api.wake()
    await sandbox.calls.wait_for("restrictChatMember", _to(ids.carol_id), since=mark, timeout=10)
    assert driver.is_restricted(ids.group_id, ids.carol_id)


async def test_direct_posts_without_the_right_secret_get_401_or_403(webhook_bot: Served) -> None:
    ids, http = webhook_bot.ids, webhook_bot.http
    before = await scrape(http)
    update = {
        "update_id": 900_000,
        "message": {
            "message_id": 900_000,
            "date": 1_700_000_000,
            "chat": {"id": ids.group_id, "type": "supergroup", "title": "Nezuko Demo Group"},
            "from": {"id": ids.carol_id, "is_bot": False, "first_name": "Carol"},
            "text": "/unprotect",
        },
    }

    missing = await http.post(WEBHOOK_PATH, json=update)
    wrong = await http.post(WEBHOOK_PATH, json=update, headers={HEADER: SECRET + "x"})
    prefix = await http.post(WEBHOOK_PATH, json=update, headers={HEADER: SECRET[:-1]})
    not_ascii = await http.post(
        WEBHOOK_PATH, json=update, headers={HEADER.encode(): "sécret".encode()}
    )

    assert missing.status_code == 401
    assert [r.status_code for r in (wrong, prefix, not_ascii)] == [403, 403, 403]
    for response in (missing, wrong, prefix, not_ascii):
        assert SECRET not in response.text
    after = await scrape(http)
    assert sample(after, "nezuko_updates_total", type="message") == sample(
        before, "nezuko_updates_total", type="message"
    )


async def test_a_malformed_body_gets_400_and_the_bot_keeps_serving(
    webhook_bot: Served, caplog: pytest.LogCaptureFixture
) -> None:
    ids, sandbox, http = webhook_bot.ids, webhook_bot.sandbox, webhook_bot.http
    await protect(webhook_bot)
    bodies = [
        b"this is not json",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"no": "update_id"}',
        b'{"update_id": "seven"}',
        b'{"update_id": 7, "message": "not an object"}',
        b'{"update_id": 8, "message": {"message_id": 1}}',
        b"[" * 100_000,
    ]
    caplog.set_level(logging.WARNING, logger="adapters.http.app")

    answers = [
        await http.post(WEBHOOK_PATH, content=body, headers={HEADER: SECRET}) for body in bodies
    ]

    assert [a.status_code for a in answers] == [400] * len(bodies)
    assert all(a.json()["ok"] is False for a in answers)
    rejected = [r for r in caplog.records if "webhook.rejected status=400" in r.getMessage()]
    # Not one line each: one per outcome and `REJECTION_LOG_INTERVAL`.
    assert {r.getMessage().split()[2] for r in rejected} == {
        "outcome=malformed",
        "outcome=invalid",
    }
    assert len(rejected) <= 4
    too_large = await http.post(WEBHOOK_PATH, content=b" " * (2 << 20), headers={HEADER: SECRET})
    assert too_large.status_code == 413

    # The next valid update is handled as usual.
    mark = sandbox.calls.mark()
    sandbox.driver.join(ids.group_id, ids.dave_id)
    await sandbox.calls.wait_for("restrictChatMember", _to(ids.dave_id), since=mark, timeout=10)
    assert sandbox.driver.is_restricted(ids.group_id, ids.dave_id)
    ready = await http.get("/ready")
    assert ready.status_code == 200


async def test_a_valid_post_is_answered_at_once_and_handled(webhook_bot: Served) -> None:
    ids, sandbox, http = webhook_bot.ids, webhook_bot.sandbox, webhook_bot.http
    await protect(webhook_bot)
    spoken = sandbox.driver.say(ids.group_id, ids.carol_id, "hi")
    await sandbox.wait_delivered(timeout=TIMEOUT)
    mark = sandbox.calls.mark()
    body = json.dumps(
        {
            "update_id": 950_000,
            "edited_message": {
                "message_id": spoken.message_id,
                "date": 1_700_000_000,
                "edit_date": 1_700_000_001,
                "chat": {"id": ids.group_id, "type": "supergroup", "title": "Nezuko Demo Group"},
                "from": {"id": ids.carol_id, "is_bot": False, "first_name": "Carol"},
                "text": "hi (edited)",
            },
        }
    )

    answer = await http.post(
        WEBHOOK_PATH, content=body, headers={HEADER: SECRET, "Content-Type": "application/json"}
    )

    assert answer.status_code == 200
    assert answer.content == b""
    await sandbox.calls.wait_for("restrictChatMember", _to(ids.carol_id), since=mark, timeout=10)


async def test_rule_10_a_graceful_stop_handles_every_update_already_accepted(
    database_factory: DatabaseFactory,
) -> None:
    async with serving_bot(database_factory, webhook=True) as served:
        ids, sandbox, driver = served.ids, served.sandbox, served.sandbox.driver
        await protect(served)
        # Few enough warnings to stay inside the group's send burst; each restriction is
        # slow, so the joins are still being handled when the stop begins.
        newcomers = [driver.user(5000 + n, f"Newcomer {n}").id for n in range(3)]
        sandbox.faults.inject("restrictChatMember", HangFault(0.5), times=len(newcomers))
        for user_id in newcomers:
            driver.join(ids.group_id, user_id)
        await sandbox.wait_delivered(timeout=TIMEOUT)  # every join answered 200, i.e. queued
        done_before_stop = sandbox.calls.count("restrictChatMember")
    # The bot has stopped; every accepted join was handled before it did.
    assert done_before_stop < len(newcomers)
    restricted = {call.param("user_id") for call in sandbox.calls.of("restrictChatMember")}
    assert set(newcomers) <= restricted
    assert all(driver.is_restricted(ids.group_id, user_id) for user_id in newcomers)


async def test_rule_10_an_update_still_queued_when_the_stop_begins_is_handled_before_it() -> None:
    """The update is queued and the stop begins before PTB's fetcher has taken it."""
    async with Sandbox.start(limits=FloodLimits.off()) as sandbox:
        settings = Settings(
            bot_token=sandbox.token,
            api_url=sandbox.root_url.rstrip("/"),
            webhook_url="http://127.0.0.1:9/telegram/webhook",
            webhook_secret=SECRET,
        )
        application = build_application(settings)
        handled: list[int] = []

        async def record(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
            handled.append(update.update_id)

        application.add_handler(TypeHandler(Update, record))
        intake = UpdateIntake(application)
        message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}
        async with application, taking_updates(application, settings, intake):
            await intake({"update_id": 41, "message": message})
        assert handled == [41]


@pytest.mark.parametrize(
    "data",
    [
        "verify:12x",
        "verify:²",  # str.isdigit() accepts it, int() does not
        "verify:99999999999999999999",  # digits, but no Telegram user id (outside int64)
        "set:warning_ttl=0s",
        "unlock:everyone",
    ],
)
async def test_forged_button_data_is_answered_as_not_valid_and_changes_nothing(
    webhook_bot: Served, data: str
) -> None:
    """Telegram delivers any callback data a client sends; ours must not act on forgeries."""
    ids, sandbox, http = webhook_bot.ids, webhook_bot.sandbox, webhook_bot.http
    await protect(webhook_bot)
    sandbox.driver.say(ids.group_id, ids.carol_id, "hi")  # muted, with a warning
    await sandbox.calls.wait_for("restrictChatMember", _to(ids.carol_id), timeout=TIMEOUT)
    warning = sandbox.driver.last_bot_message(ids.group_id)
    assert warning is not None
    query_id = "4999"
    sandbox.world.callback_queries[query_id] = CallbackQueryState(
        query_id, ids.carol_id, ids.group_id, warning.message_id, data
    )
    mark = sandbox.calls.mark()
    body = {
        "update_id": 960_000,
        "callback_query": {
            "id": query_id,
            "from": {"id": ids.carol_id, "is_bot": False, "first_name": "Carol"},
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": warning.message_id,
                "date": 1_700_000_000,
                "chat": {"id": ids.group_id, "type": "supergroup", "title": "Nezuko Demo Group"},
                "from": {"id": ids.bot_id, "is_bot": True, "first_name": "Nezuko"},
                "text": "warning",
            },
        },
    }

    answer = await http.post(WEBHOOK_PATH, content=json.dumps(body), headers={HEADER: SECRET})

    assert answer.status_code == 200
    answered = await sandbox.calls.wait_for("answerCallbackQuery", since=mark, timeout=TIMEOUT)
    assert answered.param("text") == "This button is not valid."
    assert sandbox.driver.is_restricted(ids.group_id, ids.carol_id)
    assert sandbox.calls.of("restrictChatMember", since=mark) == []
    assert sandbox.calls.of("editMessageText", since=mark) == []


@pytest.mark.parametrize("missing", ["data", "message"])
async def test_a_press_without_data_or_message_is_answered_as_not_valid(
    webhook_bot: Served, missing: str
) -> None:
    """A game button has no data, an inline-mode one no message: answered, nobody acted on."""
    ids, sandbox, http = webhook_bot.ids, webhook_bot.sandbox, webhook_bot.http
    await protect(webhook_bot)
    query_id = f"5000{missing}"
    sandbox.world.callback_queries[query_id] = CallbackQueryState(
        query_id, ids.carol_id, ids.group_id, 1, None
    )
    query: dict[str, object] = {
        "id": query_id,
        "from": {"id": ids.carol_id, "is_bot": False, "first_name": "Carol"},
        "chat_instance": "1",
        "data": f"verify:{ids.carol_id}",
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": ids.group_id, "type": "supergroup", "title": "Nezuko Demo Group"},
            "text": "a message",
        },
    }
    if missing == "data":
        del query["data"]
        query["game_short_name"] = "game"
    else:
        del query["message"]
        query["inline_message_id"] = "inline-1"
    mark = sandbox.calls.mark()

    body = {"update_id": 961_000, "callback_query": query}
    answer = await http.post(WEBHOOK_PATH, content=json.dumps(body), headers={HEADER: SECRET})

    assert answer.status_code == 200
    answered = await sandbox.calls.wait_for("answerCallbackQuery", since=mark, timeout=TIMEOUT)
    assert answered.param("text") == "This button is not valid."
    assert sandbox.calls.of("restrictChatMember", since=mark) == []
    assert sandbox.calls.of("getChatMember", since=mark) == []


async def test_a_press_telegram_no_longer_takes_an_answer_for_is_not_an_error(
    webhook_bot: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """After a restart Telegram refuses answers to old presses ("query is too old")."""
    ids, sandbox, http = webhook_bot.ids, webhook_bot.sandbox, webhook_bot.http
    await protect(webhook_bot)
    mark = sandbox.calls.mark()
    body = {
        "update_id": 962_000,
        "callback_query": {
            "id": "expired-1",  # the sandbox never issued it: answering it fails as when expired
            "from": {"id": ids.carol_id, "is_bot": False, "first_name": "Carol"},
            "chat_instance": "1",
            "data": f"verify:{ids.carol_id}",
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": ids.group_id, "type": "supergroup", "title": "Nezuko Demo Group"},
                "text": "a warning",
            },
        },
    }

    answer = await http.post(WEBHOOK_PATH, content=json.dumps(body), headers={HEADER: SECRET})

    assert answer.status_code == 200
    refused = await sandbox.calls.wait_for("answerCallbackQuery", since=mark, timeout=TIMEOUT)
    assert not refused.ok
    await sandbox.wait_delivered(timeout=TIMEOUT)
    await asyncio.sleep(0.2)  # the handler finishes after the refused answer
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
