"""`nezuko sandbox --port N`: serve the local Telegram Bot API sandbox on 127.0.0.1."""

import argparse
import asyncio
import contextlib
from collections.abc import Callable

from bootstrap.settings import environment_help
from telegram_sandbox import Sandbox, SandboxConfig


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `sandbox` sub-command."""
    parser = add_parser(
        "sandbox",
        help="serve a local Telegram Bot API sandbox (not Telegram) with a small seeded world",
        description="Serve a local imitation of the Telegram Bot API (not Telegram) on "
        "127.0.0.1 with a small seeded world (a group, two channels, four people), for any Bot "
        "API client: point `nezuko run` at it with TELEGRAM_API_URL and the token it prints.",
        epilog=environment_help(),
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="switch Telegram's flood limits off"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C)."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(args.port), limits=not args.no_limits))
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
        print("Press Ctrl-C to stop.", flush=True)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
