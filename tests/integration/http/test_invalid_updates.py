"""Structurally invalid updates are refused at the door (400) and never reach a handler.

Each of these parses with PTB's `Update.de_json`, so before the intake checked shapes they were
queued and failed inside a handler (or were stored with a nonsense id); see
`adapters.telegram.webhook` for what counts as structurally invalid.
"""

import json
import logging
from typing import Any

import pytest

from adapters.metrics import UPDATE_TYPES, updates_handled
from tests.integration.http.conftest import SECRET, WEBHOOK_PATH, Served, sample, scrape

HEADER = "X-Telegram-Bot-Api-Secret-Token"
GROUP = {"id": -1001000000001, "type": "supergroup", "title": "Nezuko Demo Group"}
CAROL = {"id": 1003, "is_bot": False, "first_name": "Carol"}
MESSAGE = {"message_id": 1, "date": 1_700_000_000, "chat": GROUP, "from": CAROL, "text": "hi"}
MEMBER_UPDATED = {
    "chat": GROUP,
    "from": CAROL,
    "date": 1_700_000_000,
    "old_chat_member": {"user": CAROL, "status": "left"},
    "new_chat_member": {"user": CAROL, "status": "member"},
}
QUERY = {"id": "1", "from": CAROL, "chat_instance": "1", "data": "verify:1003"}


def _with(base: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A deep copy of `base`, the field at dotted `path` set (removed if `value` is `...`)."""
    copy: dict[str, Any] = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    target = copy
    for name in parents:
        target = target[name]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return copy


INVALID: dict[str, dict[str, Any]] = {
    "two kinds": {"message": MESSAGE, "callback_query": QUERY},
    "no kind": {},
    "update_id out of int64": {"message": MESSAGE, "update_id": 2**63},
    "chat id a string": {"message": _with(MESSAGE, "chat.id", "-100")},
    "chat id out of int64": {"message": _with(MESSAGE, "chat.id", -(2**64))},
    "chat id a bool": {"message": _with(MESSAGE, "chat.id", True)},
    "chat type missing": {"message": _with(MESSAGE, "chat.type", ...)},
    "message_id a float": {"edited_message": _with(MESSAGE, "message_id", 1.5)},
    "from id a string": {"message": _with(MESSAGE, "from.id", "1003")},
    "sender_chat without id": {"message": _with(MESSAGE, "sender_chat", {"type": "channel"})},
    "text a number": {"message": _with(MESSAGE, "text", 5)},
    "mentioned user id huge": {
        "message": _with(
            MESSAGE,
            "entities",
            [{"type": "text_mention", "offset": 0, "length": 2, "user": {**CAROL, "id": 2**70}}],
        )
    },
    "replied-to message without chat": {
        "message": _with(MESSAGE, "reply_to_message", {"message_id": 2, "date": 0})
    },
    "thread id a string": {"message": _with(MESSAGE, "message_thread_id", "7")},
    "unknown member status": {
        "chat_member": _with(MEMBER_UPDATED, "new_chat_member.status", "promoted")
    },
    "member without user": {"chat_member": _with(MEMBER_UPDATED, "old_chat_member.user", ...)},
    "bot's change without from": {"my_chat_member": _with(MEMBER_UPDATED, "from", ...)},
    "member user id a string": {
        "my_chat_member": _with(MEMBER_UPDATED, "new_chat_member.user.id", "1")
    },
    "query without chat_instance": {"callback_query": _with(QUERY, "chat_instance", ...)},
    "query data a number": {"callback_query": _with(QUERY, "data", 7)},
    "query id a number": {"callback_query": _with(QUERY, "id", 1)},
    "query message without message_id": {
        "callback_query": _with(QUERY, "message", {"chat": GROUP, "date": 0})
    },
    "join request without user_chat_id": {
        "chat_join_request": {"chat": GROUP, "from": CAROL, "date": 1_700_000_000}
    },
    "join request chat a list": {
        "chat_join_request": {"chat": [], "from": CAROL, "user_chat_id": 1, "date": 0}
    },
    "unrequested kind not an object": {"channel_post": "hello"},
}


async def test_structurally_invalid_updates_get_400_and_reach_no_handler(
    webhook_bot: Served, caplog: pytest.LogCaptureFixture
) -> None:
    http = webhook_bot.http
    caplog.set_level(logging.INFO)
    await webhook_bot.sandbox.wait_delivered(timeout=10)
    before = await scrape(http)
    handled = sum(updates_handled(kind) for kind in UPDATE_TYPES)

    answers = {
        name: await http.post(
            WEBHOOK_PATH,
            content=json.dumps({"update_id": 990_000 + n, **update}),
            headers={HEADER: SECRET},
        )
        for n, (name, update) in enumerate(INVALID.items())
    }

    assert {name: a.status_code for name, a in answers.items() if a.status_code != 400} == {}
    assert all(a.json()["ok"] is False for a in answers.values())
    after = await scrape(http)
    invalid = sample(after, "nezuko_webhook_requests_total", outcome="invalid")
    assert invalid - sample(before, "nezuko_webhook_requests_total", outcome="invalid") == len(
        INVALID
    )
    assert sum(updates_handled(kind) for kind in UPDATE_TYPES) == handled
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
