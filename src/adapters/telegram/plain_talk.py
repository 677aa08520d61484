"""Plain talk in a group, read straight from the update's JSON (the hot path, DESIGN §5).

Most updates a protected group sends are plain text from a member: no command, no reply, not on
behalf of a chat. Enforcement reads eight of their fields; `Update.de_json` builds several
hundred attributes for each (66 µs a message here, two thirds of what a do-nothing PTB bot
spends on it). `read_update` gives such an update as a `PlainTalk` holding those fields, and
any other update as PTB's `Update`, parsed as before.

PTB dispatches a `PlainTalk` like any update of a custom type (PTB's `TypeHandler`): the
enforcement handler's `OnPlainTalk` takes it first and stops the other handler groups, as
`OnGroupMessage` does for the same message parsed. Whatever the shape of an update, if a field
is missing or not of the type Telegram documents, it is not plain talk: PTB parses it, and
rejects it if it is malformed.
"""

from collections.abc import Mapping
from typing import Any, Final, cast

import attrs
from telegram import Bot, Update

from domain.ids import GroupId, MessageId, UserId
from domain.senders import Sender

type JSONDict = dict[str, Any]

_GROUP_TYPES: Final = frozenset({"group", "supergroup"})
_NOT_PLAIN: Final = ("reply_to_message", "sender_chat", "is_automatic_forward")
"""A reply may retire a stale warning; a message sent as a chat has no person behind it."""


@attrs.frozen(slots=True)
class PlainTalk:
    """A text message (or its edit) a person wrote in a group: no command, no reply.

    Attributes:
        kind: "message" or "edited_message", as the update named it.
        thread_id: The forum topic it was written in (where a warning goes too), if any.
    """

    update_id: int
    kind: str
    chat_id: GroupId
    message_id: MessageId
    thread_id: int | None
    user_id: UserId
    is_bot: bool
    full_name: str
    username: str | None
    language_code: str | None

    @property
    def sender(self) -> Sender:
        """The author, in domain words (a person: never on behalf of a chat)."""
        return Sender(self.user_id, is_bot=self.is_bot)


def read_update(raw: JSONDict, bot: Bot) -> "PlainTalk | Update":
    """The update as plain talk when it is, else as PTB parses it.

    Raises:
        Exception: Whatever PTB raises on a malformed update (as `Update.de_json`).
    """
    talk = plain_talk(raw)
    return talk if talk is not None else Update.de_json(raw, bot)


def plain_talk(raw: JSONDict) -> PlainTalk | None:
    """`raw` as plain talk, or `None` when it is anything else (PTB then parses it)."""
    if len(raw) != 2:  # the id and one kind of update
        return None
    kind = Update.MESSAGE if Update.MESSAGE in raw else Update.EDITED_MESSAGE
    update_id, message = _int(raw, "update_id"), _object(raw, kind)
    if update_id is None or message is None or type(message.get("text")) is not str:
        return None
    chat, user = _object(message, "chat"), _object(message, "from")
    if chat is None or user is None or chat.get("type") not in _GROUP_TYPES:
        return None
    if any(key in message for key in _NOT_PLAIN) or _maybe_command(message.get("entities")):
        return None
    chat_id, message_id, user_id = _int(chat, "id"), _int(message, "message_id"), _int(user, "id")
    first_name, is_bot = user.get("first_name"), user.get("is_bot")
    if chat_id is None or message_id is None or user_id is None:
        return None
    if type(first_name) is not str or type(is_bot) is not bool:
        return None
    last_name, username = user.get("last_name"), user.get("username")
    language, thread = user.get("language_code"), message.get("message_thread_id")
    if not (_optional_str(last_name) and _optional_str(username) and _optional_str(language)):
        return None
    topic = message.get("is_topic_message") is True
    if topic and type(thread) is not int:
        return None
    return PlainTalk(
        update_id,
        kind,
        GroupId(chat_id),
        MessageId(message_id),
        cast("int", thread) if topic else None,
        UserId(user_id),
        is_bot,
        f"{first_name} {last_name}" if last_name else first_name,  # as PTB's `User.full_name`
        cast("str | None", username),
        cast("str | None", language),
    )


def _object(container: Mapping[str, object], key: str) -> Mapping[str, object] | None:
    value = container.get(key)
    return cast("Mapping[str, object]", value) if type(value) is dict else None


def _int(container: Mapping[str, object], key: str) -> int | None:
    value = container.get(key)
    return value if type(value) is int else None


def _maybe_command(entities: object) -> bool:
    """Whether the entities make the message a command (as `CommandHandler` tells), or may.

    Malformed entities count as a command: PTB parses the update and decides.
    """
    if entities is None:
        return False
    if type(entities) is not list or not entities:
        return entities != []
    first: object = cast("list[object]", entities)[0]
    if type(first) is not dict:
        return True
    entity = cast("Mapping[str, object]", first)
    return entity.get("type") == "bot_command" and entity.get("offset") == 0


def _optional_str(value: object) -> bool:
    return value is None or type(value) is str
