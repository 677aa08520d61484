"""Plain talk read from the JSON: the same fields PTB's objects would give, and nothing else."""

import copy
from typing import Any

import pytest
from telegram import Bot, Update

from adapters.telegram.handlers import is_command
from adapters.telegram.plain_talk import PlainTalk, plain_talk, read_update
from adapters.telegram.updates import log_context, update_id_of, update_type
from domain.ids import GroupId, MessageId, UserId

BOT = Bot("123:unit-test-token")


def _update(**message: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": 7,
        "date": 1_700_000_000,
        "chat": {"id": -1001, "type": "supergroup", "title": "The group"},
        "from": {
            "id": 42,
            "is_bot": False,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "username": "ada",
            "language_code": "es",
        },
        "text": "hello",
    }
    body.update(message)
    return {"update_id": 900, "message": body}


def test_a_members_text_in_a_group_is_plain_talk_with_the_fields_ptb_would_give() -> None:
    raw = _update()
    parsed = Update.de_json(copy.deepcopy(raw), BOT)
    message, user = parsed.effective_message, parsed.effective_user
    assert message is not None
    assert user is not None

    talk = plain_talk(raw)

    assert talk == PlainTalk(
        900,
        "message",
        GroupId(-1001),
        MessageId(7),
        None,
        UserId(42),
        is_bot=False,
        full_name=user.full_name,
        username="ada",
        language_code="es",
    )
    assert talk is not None
    assert talk.full_name == "Ada Lovelace" == user.full_name
    assert not is_command(message)
    assert talk.sender.sender_chat_id is None
    assert not talk.sender.is_automatic_forward


def test_an_edit_a_topic_and_a_bare_first_name_are_read_as_ptb_reads_them() -> None:
    raw = _update(message_thread_id=55, is_topic_message=True)
    raw["edited_message"] = raw.pop("message")
    raw["edited_message"]["edit_date"] = 1_700_000_100
    raw["edited_message"]["from"] = {"id": 43, "is_bot": True, "first_name": "Bob"}

    talk = plain_talk(raw)

    assert talk is not None
    assert (talk.kind, talk.thread_id, talk.full_name) == ("edited_message", 55, "Bob")
    assert talk.is_bot
    assert talk.username is None
    assert talk.language_code is None
    assert update_type(talk) == "edited_message"
    assert update_id_of(talk) == 900
    assert log_context(talk) == {"update_id": 900, "tenant": -1001, "user": 43}


def test_a_thread_id_outside_a_topic_is_not_the_warnings_thread() -> None:
    talk = plain_talk(_update(message_thread_id=12))  # a reply thread, not a forum topic

    assert talk is not None
    assert talk.thread_id is None


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            {
                "text": "/status now",
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            },
            "a command",
        ),
        (
            {
                "reply_to_message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": -1001, "type": "supergroup"},
                }
            },
            "a reply (maybe to a stale warning)",
        ),
        ({"sender_chat": {"id": -1001, "type": "supergroup"}}, "sent as the group"),
        ({"is_automatic_forward": True}, "the linked channel's post"),
        ({"chat": {"id": 42, "type": "private", "first_name": "Ada"}}, "a private chat"),
        ({"text": None, "photo": []}, "no text (PTB tells service messages apart)"),
        ({"chat": "not an object"}, "malformed: PTB decides"),
        ({"message_id": "7"}, "a string id"),
        ({"from": {"id": 42, "is_bot": "no", "first_name": "A"}}, "is_bot not a boolean"),
        (
            {"from": {"id": 42, "is_bot": False, "first_name": "A", "last_name": 5}},
            "a number as name",
        ),
        ({"entities": "bold"}, "malformed entities"),
        ({"entities": ["bold"]}, "a malformed entity"),
        ({"is_topic_message": True}, "a topic without its id"),
    ],
)
def test_anything_else_is_left_to_ptb(change: dict[str, Any], why: str) -> None:
    raw = _update(**change)
    if raw["message"].get("text") is None:
        del raw["message"]["text"]

    assert plain_talk(raw) is None, why


def test_other_updates_and_stray_fields_are_left_to_ptb() -> None:
    two_kinds = _update()
    two_kinds["edited_message"] = two_kinds["message"]
    press: dict[str, Any] = {"update_id": 1, "callback_query": {"id": "q", "chat_instance": "c"}}

    assert plain_talk(two_kinds) is None
    assert plain_talk({"message": _update()["message"]}) is None  # no update_id
    assert plain_talk({"update_id": "1", "message": _update()["message"]}) is None
    assert plain_talk(press) is None


def test_a_command_after_other_entities_is_plain_talk_as_for_commandhandler() -> None:
    raw = _update(
        text="hi /status",
        entities=[
            {"type": "bold", "offset": 0, "length": 2},
            {"type": "bot_command", "offset": 3, "length": 7},
        ],
    )
    message = Update.de_json(copy.deepcopy(raw), BOT).effective_message
    assert message is not None
    assert not is_command(message)

    assert plain_talk(raw) is not None


def test_read_update_gives_ptbs_update_for_what_is_not_plain_talk() -> None:
    command = _update(text="/status", entities=[{"type": "bot_command", "offset": 0, "length": 7}])

    assert isinstance(read_update(command, BOT), Update)
    assert isinstance(read_update(_update(), BOT), PlainTalk)
