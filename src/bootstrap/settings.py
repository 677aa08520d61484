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
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


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
            raise SettingsError("TELEGRAM_BOT_TOKEN is required: the token @BotFather gave you")
        return self.bot_token

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
    ) -> "Settings":
        """Read and validate every variable; report every problem at once.

        Raises:
            SettingsError: some variable is invalid.
        """
        env = _merged(os.environ if environ is None else environ, dotenv)
        problems: list[str] = []

        def optional(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        token = optional("TELEGRAM_BOT_TOKEN")
        if token is not None and not _TOKEN.match(token):
            problems.append("TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC-…)")
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
        if webhook_url is not None and urlsplit(webhook_url).scheme != "https":
            problems.append("WEBHOOK_URL must be an https:// URL Telegram can reach")
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
