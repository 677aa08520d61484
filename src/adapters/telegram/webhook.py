"""Webhook deliveries into PTB: a JSON object becomes an `Update` in the application's queue.

The intake refuses (`InvalidUpdate`, answered 400) a structurally invalid update, so no handler
meets a malformed one later. An update is structurally valid when:

- `update_id` is an integer and exactly one other field is present (the update's kind), an
  object (the Bot API: "at most one of the optional parameters can be present");
- for the kinds the bot asks for (`ALLOWED_UPDATES`), the object matches its `SHAPES` entry:
  every field the Bot API marks required is present, and it and every optional field the
  handlers read has the right JSON type (integers within 64 bits, a chat member's status one of
  the six the Bot API names); fields not listed are not looked at;
- PTB's `Update.de_json` parses it, or, for plain talk in a group (`plain_talk.py`), every
  field the bot reads has the type Telegram documents.

A well-formed update of a kind the bot does not ask for (Telegram may still deliver one made
before `setWebhook` changed `allowed_updates`, and the Bot API adds kinds) is accepted and
dropped: it never reaches a handler. It is not refused because Telegram retries a refused update
and holds up the ones behind it; for the same reason the shapes ask for nothing the Bot API
does not promise.
"""

from collections.abc import Callable, Mapping
from typing import Any

import attrs
from telegram import Update
from telegram.ext import Application

from adapters.intake import InvalidUpdate, JSONObject, NotAccepting, UpdateJournal
from adapters.telegram.convert import MAX_ID
from adapters.telegram.plain_talk import read_update
from adapters.telegram.updates import ALLOWED_UPDATES
from adapters.to_the_end import to_the_end
from application.errors import StorageError


@attrs.frozen
class Maybe:
    """A field that may be absent; when present it must match `spec`."""

    spec: "Spec"


@attrs.frozen
class Each:
    """A JSON array whose every item matches `spec`."""

    spec: "Spec"


type Spec = type[int] | type[str] | type[bool] | frozenset[str] | Each | Mapping[str, Spec | Maybe]
"""A JSON value's shape: a scalar type, one of some strings, an array, or an object's fields."""

USER: Spec = {"id": int, "is_bot": bool, "first_name": str}
CHAT: Spec = {"id": int, "type": str}
ENTITY: Spec = {"type": str, "offset": int, "length": int, "user": Maybe(USER)}
_MESSAGE: Mapping[str, Spec | Maybe] = {
    "message_id": int,
    "date": int,  # 0 for an inaccessible message under a button
    "chat": CHAT,
    "from": Maybe(USER),
    "sender_chat": Maybe(CHAT),
    "message_thread_id": Maybe(int),
    "is_topic_message": Maybe(bool),
    "is_automatic_forward": Maybe(bool),
    "text": Maybe(str),
    "entities": Maybe(Each(ENTITY)),
    "new_chat_members": Maybe(Each(USER)),
    "left_chat_member": Maybe(USER),
}
MESSAGE: Spec = {**_MESSAGE, "reply_to_message": Maybe(_MESSAGE)}
MEMBER: Spec = {
    "user": USER,
    "status": frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"}),
    "is_member": Maybe(bool),
}
MEMBER_UPDATED: Spec = {
    "chat": CHAT,
    "from": USER,
    "date": int,
    "old_chat_member": MEMBER,
    "new_chat_member": MEMBER,
}
SHAPES: Mapping[str, Spec] = {
    Update.MESSAGE: MESSAGE,
    Update.EDITED_MESSAGE: MESSAGE,
    Update.CALLBACK_QUERY: {
        "id": str,
        "from": USER,
        "chat_instance": str,
        "message": Maybe(MESSAGE),
        "inline_message_id": Maybe(str),
        "data": Maybe(str),
    },
    Update.CHAT_MEMBER: MEMBER_UPDATED,
    Update.MY_CHAT_MEMBER: MEMBER_UPDATED,
    Update.CHAT_JOIN_REQUEST: {"chat": CHAT, "from": USER, "user_chat_id": int, "date": int},
}
"""The shape of each kind the bot asks for (the keys are `ALLOWED_UPDATES`)."""


def problem(value: object, spec: Spec, where: str) -> str | None:
    """What makes `value` not match `spec`, naming the field's path; None if it matches."""
    if isinstance(spec, Each):
        return _array_problem(value, spec.spec, where)
    if isinstance(spec, Mapping):
        return _object_problem(value, spec, where)
    if isinstance(spec, frozenset):
        return None if isinstance(value, str) and value in spec else f"{where} is not known"
    if spec is int:
        valid = type(value) is int and -MAX_ID - 1 <= value <= MAX_ID
        return None if valid else f"{where} is not a 64-bit integer"
    return None if type(value) is spec else f"{where} is not a {spec.__name__}"


def _array_problem(value: object, item: Spec, where: str) -> str | None:
    if not isinstance(value, list):
        return f"{where} is not an array"
    items: list[object] = value  # pyright: ignore[reportUnknownVariableType]
    for index, each in enumerate(items):
        if found := problem(each, item, f"{where}[{index}]"):
            return found
    return None


def _object_problem(value: object, spec: Mapping[str, Spec | Maybe], where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} is not an object"
    fields: dict[str, object] = value  # pyright: ignore[reportUnknownVariableType]
    for name, field in spec.items():
        if name not in fields:
            if isinstance(field, Maybe):
                continue
            return f"{where}.{name} is missing"
        expected = field.spec if isinstance(field, Maybe) else field
        if found := problem(fields[name], expected, f"{where}.{name}"):
            return found
    return None


def kind_of(data: JSONObject) -> str:
    """The kind of a structurally valid update (see the module docstring).

    Raises:
        InvalidUpdate: The update is not structurally valid; the message says where.
    """
    if found := problem(data.get("update_id"), int, "update_id"):
        raise InvalidUpdate(found)
    kinds = [name for name in data if name != "update_id"]
    if len(kinds) != 1:
        raise InvalidUpdate(f"{len(kinds)} kinds of update in one")
    kind = kinds[0]
    if found := problem(data[kind], SHAPES.get(kind, {}), kind):
        raise InvalidUpdate(found[:200])
    return kind


@attrs.define
class UpdateIntake:
    """Webhook updates into PTB's update queue, while the bot takes updates (a `TakeUpdate`).

    Attributes:
        application: Whose queue and bot to use.
        accepting: Set between the application's start and the beginning of its stop; before
            and after, deliveries are refused with `NotAccepting` (Telegram sends them again).
        room: Whether one more update may be taken now; deliveries are refused with
            `NotAccepting` while it says no (the database is away, or too many updates wait).
        journal: Where an update is kept before the delivery is answered 200 (rule 10); a
            delivery it cannot keep is refused with `NotAccepting`. None keeps nothing.
    """

    application: Application[Any, Any, Any, Any, Any, Any]
    accepting: bool = False
    room: Callable[[], bool] = lambda: True
    journal: UpdateJournal | None = None

    async def __call__(self, data: JSONObject) -> bool:
        """Check one update and queue it, unless the bot does not ask for its kind.

        Returns:
            True if queued; False for a well-formed update of a kind the bot does not ask for.

        Raises:
            NotAccepting: The bot is starting or stopping, has no room for the update, or
                cannot keep it.
            InvalidUpdate: The object is not a structurally valid update.
        """
        if not (self.accepting and self.room()):
            raise NotAccepting
        if kind_of(data) not in ALLOWED_UPDATES:
            return False
        try:
            update = read_update(data, self.application.bot)
        except Exception as error:  # PTB raises whatever a malformed field happens to trigger
            raise InvalidUpdate(f"{type(error).__name__} {error}"[:200]) from error
        if self.journal is not None:
            try:
                # Shielded: the HTTP server closing cancels its requests, which must not cut a
                # statement short (its connection would be left to the garbage collector).
                new = await to_the_end(self.journal.keep([data]))
            except StorageError as error:
                raise NotAccepting from error
            if data["update_id"] not in new:  # sent again: it is handled, or a leftover
                return True
        await self.application.update_queue.put(update)
        return True
