"""Settings from the environment, with the names of DESIGN §7 (operators and tests rely on them).

A `.env` file in the working directory is read first; variables already set in the environment
win. Every command reads its configuration here and nowhere else (no other module reads
`os.environ` or `.env`), so `nezuko run` and `nezuko migrate` see the same values. Secrets are
only ever read from here, and `Settings` never shows them in `repr`.
"""

import enum
import logging
import math
import os
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs
from dotenv import dotenv_values

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DATA_DIR = Path(".nezuko")
"""`NEZUKO_DATA_DIR` when unset: where the embedded PostgreSQL keeps its data."""
DEFAULT_STARTUP_TIMEOUT = 60.0
"""`NEZUKO_STARTUP_TIMEOUT` when unset: seconds `nezuko run` waits for the database and Telegram
to answer at start-up (and for another process polling with the same token to stop)."""
MAX_STARTUP_TIMEOUT = 86_400.0
RESERVED_PATHS = frozenset({"/health", "/ready", "/metrics"})
"""Paths of the HTTP server's probes, which `WEBHOOK_URL`'s path must not take."""
_MISSING_TOKEN = "TELEGRAM_BOT_TOKEN is required: the token @BotFather gave you"
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


ENVIRONMENT: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": "the bot's token from @BotFather (required by `nezuko run`)",
    "TELEGRAM_API_URL": f"root URL of the Bot API server (default {DEFAULT_API_URL})",
    "DATABASE_URL": "runtime connection, a non-owner role (postgresql://user:password@host/db); "
    "unset: an embedded PostgreSQL under NEZUKO_DATA_DIR",
    "DATABASE_ADMIN_URL": "owner connection used by `nezuko migrate`",
    "NEZUKO_RUNTIME_ROLE": "role `nezuko migrate` grants the runtime rights (default: "
    "DATABASE_URL's user)",
    "NEZUKO_DATA_DIR": "where the embedded PostgreSQL keeps its data "
    f"(default {DEFAULT_DATA_DIR})",
    "WEBHOOK_URL": "webhook mode: the URL Telegram posts updates to (https://; http:// with a "
    "self-hosted Bot API server); unset: long polling",
    "WEBHOOK_SECRET": "webhook mode: the secret Telegram sends with every update",
    "HTTP_HOST": "address of the HTTP server (webhook, /health, /ready, /metrics; default "
    "127.0.0.1)",
    "HTTP_PORT": "port of the HTTP server (default 8080)",
    "REDIS_URL": "not used: several workers share PostgreSQL (README: Several webhook workers)",
    "SENTRY_DSN": "report errors to Sentry (optional)",
    "LOG_FORMAT": "json or console (default console)",
    "LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR (default INFO)",
    "NEZUKO_STARTUP_TIMEOUT": "seconds to wait at start-up for the database and Telegram "
    f"(default {DEFAULT_STARTUP_TIMEOUT:g})",
}
"""Every environment variable `Settings` reads, with what it is for (`--help`, `.env.example`)."""


def environment_help(*names: str) -> str:
    """The `--help` epilog listing the environment variables a command reads."""
    if not names:
        return "environment: reads no environment variable."
    width = max(len(name) for name in names)
    rows = (
        textwrap.fill(
            ENVIRONMENT[name],
            79,
            initial_indent=f"  {name:<{width}}  ",
            subsequent_indent=" " * (width + 4),
        )
        for name in names
    )
    return "environment (also read from ./.env; the environment wins):\n" + "\n".join(rows)


class SettingsError(ValueError):
    """One or more environment variables are missing or invalid; the message lists them all."""


class LogFormat(enum.StrEnum):
    """How log lines look."""

    JSON = "json"
    CONSOLE = "console"


@attrs.frozen
class Settings:
    """Everything the process is configured with."""

    bot_token: str | None = attrs.field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    database_url: str | None = attrs.field(default=None, repr=False)
    database_admin_url: str | None = attrs.field(default=None, repr=False)
    data_dir: Path = DEFAULT_DATA_DIR
    runtime_role: str | None = None
    """`NEZUKO_RUNTIME_ROLE`: the role `nezuko migrate` grants the runtime rights."""
    webhook_url: str | None = None
    webhook_secret: str | None = attrs.field(default=None, repr=False)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    redis_url: str | None = attrs.field(default=None, repr=False)
    sentry_dsn: str | None = attrs.field(default=None, repr=False)
    log_format: LogFormat = LogFormat.CONSOLE
    log_level: int = logging.INFO
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    """`NEZUKO_STARTUP_TIMEOUT`: seconds to wait for a dependency that does not answer yet."""

    @property
    def webhook_mode(self) -> bool:
        """Updates arrive by webhook (else by long polling)."""
        return self.webhook_url is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value set, for scrubbing from logs and error reports."""
        values = (self.bot_token, self.webhook_secret, self.sentry_dsn)
        urls = (self.database_url, self.database_admin_url, self.redis_url)
        passwords = (urlsplit(url).password for url in urls if url)
        return tuple(v for v in (*values, *passwords) if v)

    def require_token(self) -> str:
        """The bot token, which `nezuko run` cannot do without."""
        if self.bot_token is None:
            raise SettingsError(_MISSING_TOKEN)
        return self.bot_token

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        dotenv: Path | None = Path(".env"),
        require_token: bool = False,
    ) -> "Settings":
        """Read and validate every variable; report every problem at once.

        Args:
            environ: The environment (default `os.environ`), over `dotenv`.
            dotenv: The `.env` file to read first, if it exists.
            require_token: A missing `TELEGRAM_BOT_TOKEN` is one of the problems (`nezuko run`).

        Raises:
            SettingsError: some variable is missing or invalid.
        """
        env = _merged(os.environ if environ is None else environ, dotenv)
        problems: list[str] = []

        def optional(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        token = optional("TELEGRAM_BOT_TOKEN")
        problems.extend(_token_problems(token, required=require_token))
        api_url = (optional("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/")
        if urlsplit(api_url).scheme not in ("http", "https"):
            problems.append("TELEGRAM_API_URL must be an http(s) URL")
        database_url = optional("DATABASE_URL")
        admin_url = optional("DATABASE_ADMIN_URL")
        for name, url in (("DATABASE_URL", database_url), ("DATABASE_ADMIN_URL", admin_url)):
            if url is not None and not url.startswith(("postgresql://", "postgresql+asyncpg://")):
                problems.append(f"{name} must be a postgresql:// or postgresql+asyncpg:// URL")
        webhook_url, webhook_secret = optional("WEBHOOK_URL"), optional("WEBHOOK_SECRET")
        if (webhook_url is None) != (webhook_secret is None):
            problems.append("WEBHOOK_URL and WEBHOOK_SECRET must be set together")
        if webhook_url is not None:
            problems.extend(_webhook_problems(webhook_url, api_url))
        if webhook_secret is not None and not _SECRET.match(webhook_secret):
            problems.append("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        port_text = optional("HTTP_PORT") or "8080"
        port = int(port_text) if port_text.isdigit() else -1
        if not 0 < port < 65536:
            problems.append("HTTP_PORT must be a port number (1-65535)")
        log_format = optional("LOG_FORMAT") or LogFormat.CONSOLE.value
        if log_format not in LogFormat:
            problems.append("LOG_FORMAT must be json or console")
        level_name = (optional("LOG_LEVEL") or "INFO").upper()
        level = logging.getLevelNamesMapping().get(level_name)
        if level is None:
            problems.append("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        timeout_text = optional("NEZUKO_STARTUP_TIMEOUT") or str(DEFAULT_STARTUP_TIMEOUT)
        startup_timeout = _seconds(timeout_text)
        if startup_timeout is None or not 0 <= startup_timeout <= MAX_STARTUP_TIMEOUT:
            problems.append("NEZUKO_STARTUP_TIMEOUT must be a number of seconds (0-86400)")
        if problems:
            raise SettingsError("invalid configuration:\n- " + "\n- ".join(problems))
        return cls(
            bot_token=token,
            api_url=api_url,
            database_url=database_url,
            database_admin_url=admin_url,
            data_dir=Path(optional("NEZUKO_DATA_DIR") or DEFAULT_DATA_DIR),
            runtime_role=optional("NEZUKO_RUNTIME_ROLE"),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            http_host=optional("HTTP_HOST") or "127.0.0.1",
            http_port=port,
            redis_url=optional("REDIS_URL"),
            sentry_dsn=optional("SENTRY_DSN"),
            log_format=LogFormat(log_format),
            log_level=level or logging.INFO,
            startup_timeout=startup_timeout or 0.0,
        )


def telegram_hosted(api_url: str) -> bool:
    """Whether `TELEGRAM_API_URL` is Telegram's own Bot API (not a self-hosted server)."""
    return (urlsplit(api_url).hostname or "").lower() == urlsplit(DEFAULT_API_URL).hostname


def _token_problems(token: str | None, *, required: bool) -> list[str]:
    if token is None:
        return [_MISSING_TOKEN] if required else []
    if not _TOKEN.match(token):
        return ["TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC-…)"]
    return []


def _webhook_problems(webhook_url: str, api_url: str) -> list[str]:
    """What is wrong with `WEBHOOK_URL`.

    Telegram's servers take only https:// webhooks; a self-hosted Bot API server
    (`TELEGRAM_API_URL`) also takes http://, local addresses and any port.
    """
    parts = urlsplit(webhook_url)
    problems: list[str] = []
    if telegram_hosted(api_url):
        if parts.scheme != "https":
            problems.append(
                "WEBHOOK_URL must be an https:// URL Telegram can reach (http:// is accepted "
                "only with a self-hosted Bot API server in TELEGRAM_API_URL)"
            )
    elif parts.scheme not in ("http", "https"):
        problems.append(
            "WEBHOOK_URL must be an http:// or https:// URL the Bot API server can reach"
        )
    path = parts.path or "/"
    if path in RESERVED_PATHS or "{" in path:
        problems.append(
            f"WEBHOOK_URL's path must not be {', '.join(sorted(RESERVED_PATHS))} or contain braces"
        )
    return problems


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _merged(environ: Mapping[str, str], dotenv: Path | None) -> dict[str, str]:
    from_file: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        from_file = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    return from_file | dict(environ)
