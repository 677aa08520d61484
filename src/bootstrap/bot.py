"""Running the bot: the PTB application, its handlers, the due-action loop, long polling.

`running_bot()` is the whole process minus signal handling, so `nezuko run`, `nezuko demo` and
the end-to-end tests run exactly the same code.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from adapters.telegram.handlers import (
    Commands,
    Events,
    on_error,
    publish_commands,
    telegram_handlers,
)
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.rate_limiter import TelegramRateLimiter
from application.ports.clock import Clock
from application.use_cases.run_due_actions import RunDueActions
from bootstrap.containers import Container, postgres_container
from bootstrap.database import open_runtime_engine, provide_database
from bootstrap.settings import Settings

log = logging.getLogger(__name__)

type BotApplication = Application[Any, Any, Any, Any, Any, Any]

ALLOWED_UPDATES = (
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.CHAT_MEMBER,
    Update.MY_CHAT_MEMBER,
    Update.CHAT_JOIN_REQUEST,
)
"""DESIGN §7: chat_member in particular is only delivered when asked for."""

CONCURRENT_UPDATES = 32
"""Updates handled at once: a 429 wait in one chat must not hold up every other group."""

DUE_ACTIONS_INTERVAL = 1.0
"""Seconds between two runs of the scheduled actions (warning deletions, kicks, unmutes)."""


def build_application(settings: Settings) -> BotApplication:
    """The PTB application with our rate limiter, pointed at `TELEGRAM_API_URL`."""
    return (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(f"{settings.api_url}/bot")
        .base_file_url(f"{settings.api_url}/file/bot")
        .rate_limiter(TelegramRateLimiter())
        .concurrent_updates(CONCURRENT_UPDATES)
        .build()
    )


def install_handlers(application: BotApplication, container: Container) -> None:
    """Register every handler, wired to the container's use cases."""
    events = Events(
        enforce=container.enforce_on_message(),
        group_member=container.on_group_member_updated(),
        channel_member=container.channel_member_changed(),
        verify=container.press_verify(),
        cleanup=container.schedule_deletion(),
    )
    commands = Commands(
        protect=container.protect_group(),
        unprotect=container.unprotect_group(),
        unlink=container.unlink_channel(),
        status=container.show_status(),
        settings=container.change_settings(),
        exempt=container.exempt_member(),
        unexempt=container.unexempt_member(),
        check=container.check_rights(),
        explain=container.explain_member(),
    )
    for handler, group in telegram_handlers(events, commands):
        application.add_handler(handler, group)
    application.add_error_handler(on_error)


async def run_due_actions_forever(runner: RunDueActions, interval: float) -> None:
    """Run due actions until cancelled; a failing run is logged and the loop goes on."""
    while True:
        try:
            report = await runner.execute()
            if report.done or report.retried or report.abandoned:
                log.info(
                    "due_actions done=%s retried=%s abandoned=%s",
                    report.done,
                    report.retried,
                    report.abandoned,
                )
        except Exception:
            log.exception("due_actions.failed")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, environ: Mapping[str, str], *, clock: Clock | None = None
) -> AsyncGenerator[BotApplication]:
    """The bot, polling and enforcing, for as long as the block runs.

    On leaving: stop fetching, handle every update already fetched (rule 10), stop the
    scheduled-action loop, close the bot, dispose of the database pool, stop an embedded server.
    `clock` replaces the system clock (tests move time forward with it).
    """
    async with provide_database(environ) as urls:
        engine = await open_runtime_engine(urls.runtime)
        try:
            application = build_application(settings)
            container = postgres_container(TelegramMessenger(application.bot), engine, clock)
            install_handlers(application, container)
            async with application:
                await publish_commands(application)
                await application.start()
                updater = application.updater
                assert updater is not None  # ApplicationBuilder always makes one
                await updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
                loop = asyncio.create_task(
                    run_due_actions_forever(container.run_due_actions(), DUE_ACTIONS_INTERVAL)
                )
                try:
                    yield application
                finally:
                    loop.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await loop
                    await updater.stop()
                    await application.stop()
        finally:
            await engine.dispose()
