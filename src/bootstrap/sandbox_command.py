"""`nezuko sandbox`: serve the local Telegram Bot API sandbox, and play people in it.

`nezuko sandbox [--port N]` serves the sandbox on 127.0.0.1 (the Bot API, and the control
endpoints of `telegram_sandbox.control`). The actions are clients of a running sandbox's control
endpoints (`--url`, default the default port): `say`, `join`, `leave`, `press` a button, `show` a
chat as its members see it, `world` (which chats and people there are), `user` (a new person).
"""

import argparse
import asyncio
import contextlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from bootstrap.settings import environment_help
from telegram_sandbox import Sandbox, SandboxConfig

DEFAULT_PORT = 8081
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
EXIT_FAILED = 1


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `sandbox` sub-command and its actions."""
    parser = add_parser(
        "sandbox",
        help="serve a local Telegram Bot API sandbox (not Telegram) with a small seeded world, "
        "and play people in it",
        description="Serve a local imitation of the Telegram Bot API (not Telegram) on "
        "127.0.0.1 with a small seeded world (a group, two channels, four people), for any Bot "
        "API client: point `nezuko run` at it with TELEGRAM_API_URL and the token it prints. "
        "With an action (say, join, leave, press, show, world, user), play a person in a "
        "running sandbox instead, through its control endpoints (also a page at /control).",
        epilog=environment_help(),
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="switch Telegram's flood limits off"
    )
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    _action(actions, "world", "list the chats and people (their ids)")
    user = _action(actions, "user", "create a person")
    user.add_argument("user_id", type=int)
    user.add_argument("first_name")
    say = _action(actions, "say", "a person writes in a chat (their own id: to the bot)")
    say.add_argument("chat_id", type=int)
    say.add_argument("user_id", type=int)
    say.add_argument("text")
    for name, what in (("join", "joins"), ("leave", "leaves")):
        action = _action(actions, name, f"a person {what} a group or channel")
        action.add_argument("chat_id", type=int)
        action.add_argument("user_id", type=int)
    press = _action(actions, "press", "a person presses a button of a message (by its label)")
    press.add_argument("chat_id", type=int)
    press.add_argument("user_id", type=int)
    press.add_argument("message_id", type=int)
    press.add_argument("button", help="the button's label, e.g. Verify")
    show = _action(actions, "show", "a chat's messages as its members see them")
    show.add_argument("chat_id", type=int)


def _action(actions: Any, name: str, what: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=what, description=what)
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"the running sandbox (default {DEFAULT_URL})"
    )
    parser.set_defaults(handler=play)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C)."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(args.port), limits=not args.no_limits))
    return 0


def play(args: argparse.Namespace) -> int:
    """Do one action in a running sandbox; print its result (JSON, or the chat as text)."""
    base = str(args.url).rstrip("/") + "/control"
    action = str(args.action)
    if action == "show":
        return _request(f"{base}/chats/{args.chat_id}/messages?format=text", None)
    if action == "world":
        return _request(f"{base}/world", None)
    fields = {
        "user": ("user_id", "first_name"),
        "say": ("chat_id", "user_id", "text"),
        "join": ("chat_id", "user_id"),
        "leave": ("chat_id", "user_id"),
        "press": ("chat_id", "user_id", "message_id", "button"),
    }[action]
    path = "users" if action == "user" else action
    return _request(f"{base}/{path}", {name: getattr(args, name) for name in fields})


def _request(url: str, body: dict[str, object] | None) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read().decode() or "{}")
        print(f"nezuko sandbox: {answer.get('description', error)}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as error:
        print(f"nezuko sandbox: no sandbox answers at {url} ({error})", file=sys.stderr)
        return EXIT_FAILED
    if url.endswith("format=text"):
        print(text, end="")
    else:
        print(json.dumps(json.loads(text)["result"], indent=2, ensure_ascii=False))
    return 0


async def serve(port: int, *, limits: bool = True, ready: asyncio.Event | None = None) -> None:
    """Serve a seeded sandbox on 127.0.0.1:`port`, printing its URL and token, until cancelled."""
    config = SandboxConfig(port=port)
    if not limits:
        config = SandboxConfig(port=port, limits=config.limits.off())
    async with Sandbox.start(config) as sandbox:
        seeded = sandbox.seeded
        print(f"Nezuko Bot API sandbox (NOT Telegram) at {sandbox.root_url}", flush=True)
        print(f"  token:    {sandbox.token}")
        print(f"  base_url: {sandbox.base_url}  (Bot API calls go to {sandbox.api_url}<method>)")
        if seeded is not None:
            print(
                f"  world:    group {seeded.group_id} (@nezuko_demo_group), channels "
                f"{seeded.news_channel_id} (@nezuko_demo_news) and {seeded.private_channel_id}, "
                f"users {seeded.owner_id}-{seeded.dave_id}; the bot is an admin in all three"
            )
        print(
            f"  play:     {sandbox.root_url}/control in a browser, or `nezuko sandbox say "
            f"CHAT USER TEXT --url {sandbox.root_url}` (also join, leave, press, show, world)"
        )
        print("Press Ctrl-C to stop.", flush=True)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
