"""`nezuko run`: serve Telegram groups until stopped (SIGINT or SIGTERM).

Exit codes (README, Operations): 0 stopped by a signal; 1 a bug (with its traceback);
2 the configuration is wrong; 3 a dependency (the database, Telegram) did not answer within
`NEZUKO_STARTUP_TIMEOUT`; 4 another process holds the embedded database or polls with the token.
Every expected failure is one log line (`run.failed`) saying what is wrong and what to do.
"""

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable

from bootstrap.bot import running_bot, webhook_path
from bootstrap.observability import configure_logging, init_sentry
from bootstrap.settings import Settings, SettingsError, environment_help
from bootstrap.startup import EXIT_CONFIG, explain

log = logging.getLogger("nezuko.run")

EXIT_BUG = 1


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `run` sub-command."""
    parser = add_parser(
        "run",
        help="run the bot (long polling, or webhook when WEBHOOK_URL and WEBHOOK_SECRET are set; "
        "/health, /ready and /metrics on HTTP_HOST:HTTP_PORT; TELEGRAM_BOT_TOKEN required; "
        "embedded PostgreSQL when DATABASE_URL is unset)",
        description="Run the bot until SIGINT or SIGTERM: long polling, or a webhook when "
        "WEBHOOK_URL and WEBHOOK_SECRET are set; /health, /ready and /metrics on "
        "HTTP_HOST:HTTP_PORT. Uses DATABASE_URL, else an embedded PostgreSQL under "
        "NEZUKO_DATA_DIR.\n\nexit codes: 0 stopped by a signal; 1 a bug (with its traceback); "
        "2 configuration; 3 a dependency did not answer within NEZUKO_STARTUP_TIMEOUT; 4 another "
        "process holds the embedded database or polls with the token.",
        epilog=environment_help(
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_API_URL",
            "DATABASE_URL",
            "DATABASE_ADMIN_URL",
            "NEZUKO_DATA_DIR",
            "WEBHOOK_URL",
            "WEBHOOK_SECRET",
            "HTTP_HOST",
            "HTTP_PORT",
            "SENTRY_DSN",
            "LOG_FORMAT",
            "LOG_LEVEL",
            "NEZUKO_STARTUP_TIMEOUT",
        ),
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
        settings = Settings.from_env(require_token=True)
        if settings.webhook_mode:
            webhook_path(settings)
    except SettingsError as error:
        print(f"nezuko run: {error}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings)
    try:
        asyncio.run(serve(settings, memory=arguments.memory))
    except Exception as error:
        failure = explain(error, settings)
        if failure is None:
            log.exception("run.crashed")
            return EXIT_BUG
        log.error("run.failed exit_code=%s reason=%s", failure.exit_code, failure.reason)
        return failure.exit_code
    return 0


async def serve(settings: Settings, *, memory: bool = False) -> None:
    """Run until SIGINT or SIGTERM, then stop gracefully (every update taken is handled).

    Raises:
        Exception: what ended the bot by itself (`running_bot`'s `on_fatal`), or kept it from
            starting.
    """
    init_sentry(settings)
    stop = asyncio.Event()
    ended: list[BaseException] = []

    def fatal(error: BaseException) -> None:
        ended.append(error)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_bot(settings, serve_http=True, memory=memory, on_fatal=fatal):
        await stop.wait()
    if ended:
        raise ended[0]
