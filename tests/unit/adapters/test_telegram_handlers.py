"""Which handlers may take an update after the enforcement handler has judged it.

`OnGroupMessage` ends the handling of group talk that is not a command (PTB then skips the
handlers of group 0, one check each per message on the hot path); that is only right while no
handler of group 0 takes such a message. These tests hold that for every kind of group talk;
the commands themselves reach their handlers in `integration/bot/test_commands.py`.
"""

from typing import Any

import pytest
from telegram import Update

from adapters.memory.messenger import InMemoryMessenger
from adapters.telegram.handlers import ENFORCEMENT_GROUP, is_command, telegram_handlers
from bootstrap.containers import memory_container
from domain.ids import UserId

BOT = UserId(42)
GROUP = {"id": -100123, "type": "supergroup", "title": "Group"}
OLD_GROUP = {"id": -123, "type": "group", "title": "Old group"}
MEMBER = {"id": 7, "is_bot": False, "first_name": "Member"}


def _update(kind: str = "message", chat: dict[str, Any] = GROUP, **message: Any) -> Update:
    body = {"message_id": 10, "date": 1_700_000_000, "chat": chat, "from": MEMBER, **message}
    return Update.de_json({"update_id": 1, kind: body}, None)


def _later_handlers() -> list[Any]:
    container = memory_container(InMemoryMessenger(own_id=BOT))
    return [
        handler
        for handler, group in telegram_handlers(container.events(), container.commands())
        if group > ENFORCEMENT_GROUP
    ]


@pytest.mark.parametrize(
    "update",
    [
        _update(text="hello"),
        _update(chat=OLD_GROUP, text="hello"),
        _update("edited_message", text="hello again", edit_date=1_700_000_100),
        _update(text="see /status", entities=[{"type": "bot_command", "offset": 4, "length": 7}]),
        _update(text="@someone hi", entities=[{"type": "mention", "offset": 0, "length": 8}]),
        _update(
            caption="/status",
            photo=[{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
        ),
        _update(
            text="re",
            reply_to_message={
                "message_id": 9,
                "date": 1_700_000_000,
                "chat": GROUP,
                "from": MEMBER,
                "text": "hi",
            },
        ),
        _update(
            sticker={
                "file_id": "s",
                "file_unique_id": "u",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        ),
    ],
    ids=[
        "text",
        "old-style-group",
        "edited",
        "command-later",
        "mention",
        "caption",
        "reply",
        "sticker",
    ],
)
def test_no_later_handler_takes_group_talk_that_is_not_a_command(update: Update) -> None:
    message = update.effective_message
    assert message is not None
    assert not is_command(message)
    taken = [h for h in _later_handlers() if h.check_update(update)]
    assert taken == []


def test_a_command_in_a_group_goes_on_to_the_command_handlers() -> None:
    for text in ("/status", "/status@nezuko_bot now"):
        length = len(text.split()[0])
        update = _update(
            text=text, entities=[{"type": "bot_command", "offset": 0, "length": length}]
        )
        message = update.effective_message
        assert message is not None
        assert is_command(message)  # so OnGroupMessage lets group 0 see it (test_commands.py)
