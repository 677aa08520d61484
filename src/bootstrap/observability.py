"""Logging and error reporting, configured once: structlog for every line, Sentry when set.

The inner layers log with the standard library; everything is rendered by structlog (JSON in
production, readable in development). Every secret of the settings is replaced by `[redacted]`
in every log line and Sentry event: a bot token sits in every Bot API URL.
"""

import logging
import sys
from collections.abc import Iterable
from typing import IO, Any, cast

import sentry_sdk
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from bootstrap.settings import LogFormat, Settings

REDACTED = "[redacted]"


class Redactor:
    """Replaces every secret in strings, recursively through dicts, lists and tuples."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def scrub(self, value: object) -> object:
        """A copy of `value` with every secret replaced."""
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            items = cast("dict[object, object]", value).items()
            return {key: self.scrub(item) for key, item in items}
        if isinstance(value, list | tuple):
            scrubbed = [self.scrub(item) for item in cast("list[object]", value)]
            return tuple(scrubbed) if isinstance(value, tuple) else scrubbed
        return value

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        """A structlog processor."""
        return {key: self.scrub(value) for key, value in event.items()}

    def before_send(self, event: Any, _: Any) -> Any:  # Sentry's hook signature
        """A Sentry `before_send` hook."""
        return self.scrub(event)


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Route the standard library's logging through structlog; call once at start-up."""
    redactor = Redactor(settings.secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # httpx logs every request URL at INFO, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def init_sentry(settings: Settings) -> bool:
    """Start Sentry when `SENTRY_DSN` is set (call inside the async entry point)."""
    if settings.sentry_dsn is None:
        return False
    redactor = Redactor(settings.secrets)
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        send_default_pii=False,
        before_send=redactor.before_send,
        before_breadcrumb=redactor.before_send,
    )
    return True
