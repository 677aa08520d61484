"""Playing people from outside the process: HTTP control endpoints beside the Bot API.

The sandbox's `Driver` plays people in tests; these endpoints let anyone do the same over HTTP
while a bot (`nezuko run`, or any Bot API client) talks to the sandbox: a person writes, joins or
leaves a group or channel, presses a button; and a chat shows its messages as its members see
them (the bot's deleted ones gone, buttons listed). `nezuko sandbox say|join|leave|press|show|
world` is a client of these endpoints; `GET /control` is a small page doing the same in a browser.

Every endpoint answers JSON like the Bot API's envelope: `{"ok": true, "result": ...}`, or
`{"ok": false, "description": ...}` with 400 when the action is impossible (the person is
already in the chat, the button does not exist, ...). Ids are numbers; a person is created with
`POST /control/users` (the seeded world has four).
"""

import html
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from telegram_sandbox.driver import Driver, DriverError
from telegram_sandbox.state import Message, World

type Json = dict[str, Any]
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/control"


class BadInput(Exception):
    """The request's body lacks a field or has one of the wrong type."""


def add_control_routes(app: web.Application, driver: Driver) -> None:
    """Serve the control endpoints under `/control` on the sandbox's app."""
    control = _Control(driver)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "", control.page),
        ("GET", "/world", control.world_state),
        ("POST", "/users", control.create_user),
        ("POST", "/say", control.say),
        ("POST", "/join", control.join),
        ("POST", "/leave", control.leave),
        ("POST", "/press", control.press),
        ("GET", "/chats/{chat_id}/messages", control.messages),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, _enveloped(handler))


def _enveloped(handler: Handler) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (DriverError, BadInput, KeyError) as error:
            description = str(error.args[0]) if error.args else type(error).__name__
            return web.json_response({"ok": False, "description": description}, status=400)

    return handle


def _ok(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


async def _body(request: web.Request) -> Json:
    try:
        body = await request.json()
    except ValueError as error:
        raise BadInput("the body must be a JSON object") from error
    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object")
    return body  # pyright: ignore[reportUnknownVariableType]


def _int(body: Json, name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadInput(f"{name} must be a number")
    try:
        return int(value)
    except ValueError as error:
        raise BadInput(f"{name} must be a number") from error


def _text(body: Json, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadInput(f"{name} must be a non-empty string")
    return value


class _Control:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    @property
    def world(self) -> World:
        return self.driver.world

    async def world_state(self, _: web.Request) -> web.Response:
        """The chats and the people, to know which ids to play with."""
        chats = [
            {
                "id": chat.id,
                "type": str(chat.type),
                "title": chat.title or chat.first_name,
                "username": chat.username,
            }
            for chat in self.world.chats.values()
            if str(chat.type) != "private"
        ]
        users = [
            {"id": user.id, "first_name": user.first_name, "is_bot": user.is_bot}
            for user in self.world.users.values()
        ]
        return _ok({"chats": chats, "users": users})

    async def create_user(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user_id, name = _int(body, "user_id"), _text(body, "first_name")
        if user_id in self.world.users:
            raise BadInput(f"user {user_id} exists already")
        user = self.driver.user(user_id, name, username=body.get("username") or None)
        return _ok({"id": user.id, "first_name": user.first_name})

    async def say(self, request: web.Request) -> web.Response:
        body = await _body(request)
        message = self.driver.say(
            _int(body, "chat_id"), _int(body, "user_id"), _text(body, "text")
        )
        return _ok(self._message(message))

    async def join(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chat_id, user_id = _int(body, "chat_id"), _int(body, "user_id")
        self.driver.join(chat_id, user_id)
        return _ok({"status": str(self.driver.status(chat_id, user_id))})

    async def leave(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chat_id, user_id = _int(body, "chat_id"), _int(body, "user_id")
        self.driver.leave(chat_id, user_id)
        return _ok({"status": str(self.driver.status(chat_id, user_id))})

    async def press(self, request: web.Request) -> web.Response:
        """Press a button of a message by its callback data, or by its label (`button`)."""
        body = await _body(request)
        chat_id, message_id = _int(body, "chat_id"), _int(body, "message_id")
        message = self.driver.message(chat_id, message_id)
        if message is None:
            raise BadInput(f"message {message_id} is not shown in chat {chat_id}")
        data = body.get("data")
        if not isinstance(data, str):
            label = _text(body, "button")
            matching = [b for b in message.buttons() if b.get("text") == label]
            if not matching or "callback_data" not in matching[0]:
                raise BadInput(f"message {message_id} has no button {label!r} to press")
            data = str(matching[0]["callback_data"])
        query_id = self.driver.press(_int(body, "user_id"), message, data)
        return _ok({"callback_query_id": query_id})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """The chat's messages as its members see them; `?format=text` for one line each."""
        chat_id = int(request.match_info["chat_id"])
        if chat_id not in self.world.chats:
            raise BadInput(f"no chat {chat_id}")
        if request.query.get("format") == "text":
            return web.Response(text=self.driver.render(chat_id) + "\n")
        return _ok([self._message(m) for m in self.driver.shown(chat_id)])

    async def page(self, request: web.Request) -> web.Response:
        """A small page: a chat as its members see it, and a form to write as someone."""
        chats = [c for c in self.world.chats.values() if str(c.type) != "private"]
        chosen = int(request.query.get("chat_id", chats[0].id if chats else 0))
        rendered = self.driver.render(chosen) if chosen in self.world.chats else ""
        options = "".join(
            f'<option value="{c.id}"{" selected" if c.id == chosen else ""}>'
            f"{html.escape(c.title or str(c.id))} ({c.id})</option>"
            for c in chats
        )
        people = ", ".join(
            f"{u.id} {html.escape(u.first_name)}" for u in self.world.users.values()
        )
        page = _PAGE.format(
            chat_id=chosen, options=options, rendered=html.escape(rendered), people=people
        )
        return web.Response(text=page, content_type="text/html")

    def _message(self, message: Message) -> Json:
        sender = self.world.users.get(message.from_id) if message.from_id is not None else None
        return {
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "from": None if sender is None else {"id": sender.id, "first_name": sender.first_name},
            "text": message.text,
            "buttons": message.buttons(),
        }


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Nezuko sandbox (not Telegram)</title>
<meta http-equiv="refresh" content="5">
<style>body{{font-family:sans-serif;max-width:60em;margin:1em auto}}
pre{{background:#f4f4f4;padding:1em;white-space:pre-wrap}}</style></head>
<body><h1>Nezuko Bot API sandbox <small>(not Telegram)</small></h1>
<form method="get" action="/control"><select name="chat_id">{options}</select>
<button>Show</button></form>
<pre id="chat">{rendered}</pre>
<p>People: {people}</p>
<form id="say"><input name="user_id" placeholder="user id" size="8">
<input name="text" placeholder="message" size="50"><button>Say</button></form>
<script>
document.getElementById("say").onsubmit = async (e) => {{
  e.preventDefault();
  const f = new FormData(e.target);
  await fetch("/control/say", {{method: "POST", body: JSON.stringify({{
    chat_id: {chat_id}, user_id: Number(f.get("user_id")), text: f.get("text")}})}});
  location.reload();
}};
</script>
<p>JSON endpoints: GET /control/world, GET /control/chats/ID/messages[?format=text],
POST /control/say|join|leave|press|users (README, The Bot API sandbox).</p>
</body></html>
"""
