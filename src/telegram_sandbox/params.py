"""Decoding request parameters the way the Bot API accepts them.

Clients send a JSON body, a query string, form fields or multipart fields. python-telegram-bot
sends strings as they are and every other value JSON-encoded, so a form field's type depends on
the parameter: the accessors here convert by what the method expects.
"""

import json
import re
from typing import Any

from telegram_sandbox.errors import bad_request
from telegram_sandbox.record import Json

STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "data",
        "callback_query_id",
        "url",
        "secret_token",
        "name",
        "language_code",
        "parse_mode",
        "description",
        "custom_title",
        "invite_link",
        "inline_message_id",
        "title",
        "ip_address",
    }
)
"""Parameters kept as strings in the call log even when they look like numbers or JSON."""

_INTEGER = re.compile(r"-?\d+")


def decode_form_value(name: str, value: str) -> Any:
    """A form field's value as the call log shows it (JSON decoded unless a string param)."""
    if name in STRING_PARAMS:
        return value
    if _INTEGER.fullmatch(value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class Params:
    """A method's parameters with typed accessors that answer Telegram's 400s."""

    def __init__(self, values: Json) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        """True when the parameter was sent (and is not null)."""
        return self.values.get(name) is not None

    def string(self, name: str, *, required: bool = False) -> str | None:
        """A string parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        """An integer parameter ("invalid <name> specified" when it is not one)."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        raise bad_request(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        """A number parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter (true/false, 1/0, or a JSON boolean)."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        return str(value).strip().lower() in ("true", "1")

    def decoded(self, name: str) -> Any:
        """A JSON-serialized parameter (object or array), decoded."""
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_ref(self, name: str = "chat_id") -> int | str:
        """A chat id: an integer or "@username"."""
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        try:
            result = self.integer(name)
        except Exception:
            raise bad_request("chat not found") from None
        assert result is not None
        return result
