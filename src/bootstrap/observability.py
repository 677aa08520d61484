"""Logging and error reporting, configured once: structlog for every line, Sentry when set.

The inner layers log with the standard library; everything is rendered by structlog (JSON in
production, readable in development). What they pass as `extra={...}` becomes fields of the line
(`{"event": "member.muted", "group": …, "user": …}`), never text inside the event. Every secret of
the settings is replaced by `[redacted]` in every log line and Sentry event: a bot token sits in
every Bot API URL. So are the other ways text reaches stderr: warnings are logged, and uncaught
exceptions (in the main thread, in other threads, and "unraisable" ones) are logged too, traceback
included, through the same redactor.
"""

import logging
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any, cast
from urllib.parse import quote, unquote

import sentry_sdk
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from adapters.telegram.updates import add_update_ids
from bootstrap.settings import LogFormat, Settings

REDACTED = "[redacted]"


class Redactor:
    """Replaces every secret in strings, recursively through dicts, lists and tuples."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Each as given, decoded (a password in a URL is percent-encoded) and encoded (a token
        # in a URL); longest first, so a secret containing another is replaced whole.
        forms = {form for s in secrets for form in (s, unquote(s), quote(s, safe=""))}
        self._secrets = sorted({s for s in forms if len(s) >= 4}, key=len, reverse=True)

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
        add_update_ids,  # the ids of the update being handled
        # The fields the inner layers pass as `extra={...}`: each its own key in JSON.
        structlog.stdlib.ExtraAdder(),
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
    _route_stderr_through_logging()


_crashes = logging.getLogger("nezuko.crash")


def _route_stderr_through_logging() -> None:
    """Send warnings and uncaught exceptions through logging, and so through the redactor.

    Python writes them to stderr itself otherwise, secrets and all: PTB's `InvalidToken`
    quotes the token, a driver's error may quote a URL.
    """
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    sys.unraisablehook = _log_unraisable


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    _crashes.critical("crash.uncaught", exc_info=(kind, error, trace))


def _log_uncaught_in_thread(hook: threading.ExceptHookArgs) -> None:
    if hook.exc_value is None or hook.exc_type is SystemExit:
        return
    name = hook.thread.name if hook.thread is not None else "?"
    trace = (hook.exc_type, hook.exc_value, hook.exc_traceback)
    _crashes.error("crash.thread thread=%s", name, exc_info=trace)


def _log_unraisable(hook: Any) -> None:  # sys.UnraisableHookArgs is not public in typeshed
    error: BaseException | None = hook.exc_value
    text = "".join(traceback.format_exception(error)) if error is not None else ""
    _crashes.error("crash.unraisable message=%s object=%r %s", hook.err_msg, hook.object, text)


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
