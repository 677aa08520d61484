"""`nezuko run`: serve Telegram groups until stopped (SIGINT or SIGTERM)."""

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable

from adapters.http.server import CannotListen
from bootstrap.bot import running_bot, webhook_path
from bootstrap.observability import configure_logging, init_sentry
from bootstrap.settings import Settings, SettingsError

EXIT_CONFIG = 2


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `run` sub-command."""
    parser = add_parser(
        "run",
        help="run the bot (long polling, or webhook when WEBHOOK_URL and WEBHOOK_SECRET are set; "
        "/health, /ready and /metrics on HTTP_HOST:HTTP_PORT; TELEGRAM_BOT_TOKEN required; "
        "embedded PostgreSQL when DATABASE_URL is unset)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="keep state in process memory instead of PostgreSQL: nothing survives a restart "
        "(for trying the bot out)",
    )
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    """Read the settings, then serve until a signal asks to stop."""
    try:
        settings = Settings.from_env()
        settings.require_token()
        if settings.webhook_mode:
            webhook_path(settings)
    except SettingsError as error:
        print(f"nezuko run: {error}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings)
    try:
        asyncio.run(serve(settings, memory=arguments.memory))
    except CannotListen as error:
        print(f"nezuko run: {error} (set HTTP_HOST and HTTP_PORT)", file=sys.stderr)
        return EXIT_CONFIG
    return 0


async def serve(settings: Settings, *, memory: bool = False) -> None:
    """Run until SIGINT or SIGTERM, then stop gracefully (every update taken is handled)."""
    init_sentry(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_bot(settings, serve_http=True, memory=memory):
        await stop.wait()
