"""Start-up failures an operator can fix: waiting for dependencies, one line and an exit code each.

`nezuko run` waits up to `NEZUKO_STARTUP_TIMEOUT` seconds for the database and for Telegram
while they do not answer (connection refused, timeouts, a server still starting), with backoff;
`/ready` answers 503 meanwhile, because the HTTP server starts first. A failure that waiting
cannot cure (a wrong token, a missing role, an unmigrated schema) ends the start at once.
`explain` turns each expected failure into a `StartupFailure`: one line saying what is wrong and
what to do, and the exit code README documents. Anything else is a bug and keeps its traceback.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import attrs
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from adapters.http.server import CannotListen
from adapters.postgres.errors import DatabaseInUse, DatabaseSetupError, sqlstate
from adapters.postgres.guard import SchemaNotMigrated, UnsafeDatabaseRole, open_runtime_engine
from adapters.postgres.urls import describe_url
from adapters.telegram.polling import AnotherPoller
from application.errors import StorageError
from bootstrap.settings import Settings

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
"""The configuration is wrong: a setting, the token, the database's role, database or schema."""
EXIT_UNREACHABLE = 3
"""A dependency (the database, Telegram) did not answer within `NEZUKO_STARTUP_TIMEOUT`."""
EXIT_ANOTHER_INSTANCE = 4
"""Another process holds what this one needs: the embedded data directory, or the token's
getUpdates (Telegram's 409 Conflict for longer than `NEZUKO_STARTUP_TIMEOUT`)."""

FIRST_PAUSE = 0.5
"""Seconds before the second attempt; doubled after each failure up to `MAX_PAUSE`."""
MAX_PAUSE = 10.0

UNREACHABLE_SQLSTATES = frozenset({"57P03", "53300", "08000", "08001", "08003", "08004", "08006"})
"""cannot_connect_now (starting up or shutting down), too_many_connections, connection
exceptions: the database may answer a moment later."""
AUTHENTICATION_SQLSTATES = frozenset({"28000", "28P01"})
"""invalid_authorization_specification (no such role, pg_hba), invalid_password."""
_UNDEFINED_SQLSTATES = frozenset({"42P01", "42703"})
"""undefined_table, undefined_column: the schema is older than this version of the bot."""


@attrs.define(eq=False)
class StartupFailure(Exception):
    """An expected start-up failure: one line for the operator, and the process's exit code."""

    reason: str
    exit_code: int

    def __str__(self) -> str:
        return self.reason


@attrs.define(eq=False)
class DependencyUnreachable(Exception):
    """A dependency did not answer within the start-up window."""

    dependency: str
    """What did not answer, as the operator would name it ("the database … at host:port")."""
    detail: str
    waited: float
    advice: str

    def __str__(self) -> str:
        return (
            f"cannot reach {self.dependency} ({self.detail}), waited {self.waited:g} s: "
            f"{self.advice}"
        )


def database_unreachable(error: BaseException) -> bool:
    """Whether a storage failure means "not answering (yet)", which waiting may cure."""
    if not isinstance(error, StorageError):
        return False
    code = _sqlstate(error)
    if code is not None:
        return code in UNREACHABLE_SQLSTATES
    return True  # no SQLSTATE: the connection itself failed (refused, reset, timed out)


def telegram_unreachable(error: BaseException) -> bool:
    """Whether a Bot API failure means "not answering (yet)": network, timeouts, 5xx, 429."""
    return isinstance(error, RetryAfter) or (
        isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    )


async def retrying[T](
    attempt: Callable[[], Awaitable[T]],
    *,
    transient: Callable[[BaseException], bool],
    window: float,
    dependency: str,
    advice: str,
    pause: float = FIRST_PAUSE,
) -> T:
    """`attempt()`, tried again with backoff while it fails with a `transient` error.

    The first failure is logged as one warning line; the others at DEBUG. `pause` is the first
    wait, doubled after each failure up to `MAX_PAUSE`.

    Raises:
        DependencyUnreachable: still failing after `window` seconds (from the `transient` error).
        Exception: whatever `attempt` raised that is not `transient`.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            if not transient(error):
                raise
            failures += 1
            left = deadline - loop.time()
            detail = _detail(error)
            if left <= 0:
                raise DependencyUnreachable(dependency, detail, window, advice) from error
            level = logging.WARNING if failures == 1 else logging.DEBUG
            log.log(
                level,
                "startup.waiting for=%r error=%r: trying again for up to %.0f s",
                dependency,
                detail,
                left,
            )
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, MAX_PAUSE)


async def wait_for_database(url: str, window: float) -> AsyncEngine:
    """The runtime's engine (`open_runtime_engine`), waiting up to `window` s for the database.

    Raises:
        DependencyUnreachable: the database did not answer within `window` seconds.
        SchemaNotMigrated, UnsafeDatabaseRole, StorageError: as `open_runtime_engine`.
    """
    return await retrying(
        lambda: open_runtime_engine(url),
        transient=database_unreachable,
        window=window,
        dependency=f"the database ({describe_url(url)})",
        advice="start PostgreSQL, or fix DATABASE_URL's host and port "
        "(NEZUKO_STARTUP_TIMEOUT sets how long to wait)",
    )


async def wait_for_telegram(bot: Bot, api_url: str, window: float) -> None:
    """Initialise the bot (getMe), waiting up to `window` s for the Bot API to answer.

    The bot is shut down (its connections closed) when it fails.

    Raises:
        DependencyUnreachable: the Bot API did not answer within `window` seconds.
        InvalidToken: Telegram rejected the token.
    """
    try:
        await retrying(
            bot.initialize,
            transient=telegram_unreachable,
            window=window,
            dependency=f"the Telegram Bot API at {api_url}",
            advice="check the network (a proxy, DNS, a firewall), or TELEGRAM_API_URL "
            "(NEZUKO_STARTUP_TIMEOUT sets how long to wait)",
        )
    except BaseException:
        await bot.shutdown()
        raise


def explain(error: BaseException, settings: Settings) -> StartupFailure | None:
    """The one line and exit code for an expected failure; None for a bug (keep its traceback)."""
    if isinstance(error, StartupFailure):
        return error
    if isinstance(error, CannotListen):
        return StartupFailure(f"{error} (set HTTP_HOST and HTTP_PORT)", EXIT_CONFIG)
    if isinstance(error, DependencyUnreachable):
        return StartupFailure(str(error), EXIT_UNREACHABLE)
    if isinstance(error, InvalidToken):
        # PTB's getMe wraps Telegram's answer in a message that quotes the token.
        cause = error.__cause__
        answer = cause.message if isinstance(cause, TelegramError) else error.message
        if settings.bot_token:
            answer = answer.replace(settings.bot_token, "[redacted]")
        return StartupFailure(
            f"Telegram rejected TELEGRAM_BOT_TOKEN ({settings.api_url} answered "
            f"{_first_line(answer)!r}): set the token @BotFather gave you (after /revoke, the "
            "new one)",
            EXIT_CONFIG,
        )
    if isinstance(error, BadRequest) and settings.webhook_mode:
        return StartupFailure(
            f"Telegram refused the webhook ({_detail(error)}): check WEBHOOK_URL, which Telegram "
            "must reach",
            EXIT_CONFIG,
        )
    if telegram_unreachable(error):  # after getMe answered: setWebhook, deleteWebhook…
        return StartupFailure(
            f"cannot reach the Telegram Bot API at {settings.api_url} ({_detail(error)}): "
            "check the network, or TELEGRAM_API_URL",
            EXIT_UNREACHABLE,
        )
    if isinstance(error, AnotherPoller | Conflict):
        return StartupFailure(str(error), EXIT_ANOTHER_INSTANCE)
    if isinstance(error, DatabaseInUse):
        return StartupFailure(
            f"{error}: stop the other `nezuko` process, or set NEZUKO_DATA_DIR to another "
            "directory",
            EXIT_ANOTHER_INSTANCE,
        )
    if isinstance(error, DatabaseSetupError):
        return StartupFailure(_first_line(str(error)), EXIT_CONFIG)
    if isinstance(error, SchemaNotMigrated | UnsafeDatabaseRole):
        return StartupFailure(str(error), EXIT_CONFIG)
    if isinstance(error, StorageError):
        return _storage_failure(error, settings)
    return None


def _sqlstate(error: StorageError) -> str | None:
    """The SQLSTATE behind a storage error (the adapter raised it `from` the driver's)."""
    cause = error.__cause__
    return sqlstate(error) or (sqlstate(cause) if cause is not None else None)


def _storage_failure(error: StorageError, settings: Settings) -> StartupFailure | None:
    code = _sqlstate(error)
    where = describe_url(settings.database_url) if settings.database_url else "embedded"
    if code in AUTHENTICATION_SQLSTATES:
        return StartupFailure(
            f"the database refused DATABASE_URL's role ({where}; {_detail(error)}): create the "
            "role, or fix DATABASE_URL's user and password",
            EXIT_CONFIG,
        )
    if code == "3D000":
        return StartupFailure(
            f"the database does not exist ({where}; {_detail(error)}): create it and run "
            "`nezuko migrate`, or fix DATABASE_URL's database name",
            EXIT_CONFIG,
        )
    if code in _UNDEFINED_SQLSTATES:
        return StartupFailure(
            f"the database schema is older than this version of the bot ({_detail(error)}): "
            "run `nezuko migrate` with DATABASE_ADMIN_URL, then start again",
            EXIT_CONFIG,
        )
    return None


def _detail(error: BaseException) -> str:
    return _first_line(str(error)) or type(error).__name__


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""
