"""Logging is structured, and secrets never reach a log line or an error report."""

import io
import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest
import structlog
from telegram import Update

from adapters.telegram.updates import log_context
from bootstrap.observability import (
    REDACTED,
    Redactor,
    configure_logging,
    init_sentry,
)
from bootstrap.settings import Settings

TOKEN = "123456:ABC-def_ghi"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook, sys.unraisablehook
    yield
    sys.excepthook, threading.excepthook, sys.unraisablehook = hooks
    logging.captureWarnings(False)
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def configured(**env: str) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, **env}, dotenv=None), stream)
    return stream


def test_json_lines_carry_the_bound_update_context() -> None:
    stream = configured(LOG_FORMAT="json")
    with structlog.contextvars.bound_contextvars(update_id=7, tenant=-100, user=42):
        logging.getLogger("application.use_cases.x").info("enforce.done outcome=%s", "allowed")
    logging.getLogger("x").info("after the update")
    line, after = (json.loads(text) for text in stream.getvalue().splitlines()[-2:])
    assert "update_id" not in after
    assert line["event"] == "enforce.done outcome=allowed"
    assert (line["update_id"], line["tenant"], line["user"]) == (7, -100, 42)
    assert line["level"] == "info"
    assert line["logger"] == "application.use_cases.x"


def test_the_token_is_redacted_from_stdlib_and_structlog_lines() -> None:
    stream = configured(LOG_FORMAT="json")
    logging.getLogger("telegram").warning("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    structlog.get_logger("x").error("failed", url=f"https://x/bot{TOKEN}/send", nested=[TOKEN])
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count(REDACTED) == 3


def test_request_urls_of_httpx_are_not_logged_at_info() -> None:
    stream = configured()
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot…")
    assert stream.getvalue() == ""


def test_console_format_and_level() -> None:
    stream = configured(LOG_LEVEL="WARNING")
    logging.getLogger("a").info("hidden")
    logging.getLogger("a").warning("shown")
    assert "hidden" not in stream.getvalue()
    assert "shown" in stream.getvalue()


def test_sentry_events_are_scrubbed_recursively() -> None:
    redactor = Redactor([TOKEN, "pw"])  # too short to redact safely: left alone
    event = {"message": f"bot{TOKEN}", "extra": {"args": (TOKEN, 1)}, "list": [f"x{TOKEN}"]}
    assert redactor.before_send(event, {}) == {
        "message": f"bot{REDACTED}",
        "extra": {"args": (REDACTED, 1)},
        "list": [f"x{REDACTED}"],
    }


def test_sentry_stays_off_without_a_dsn() -> None:
    assert init_sentry(Settings()) is False


def test_log_context_of_an_update_names_update_tenant_and_user() -> None:
    update = Update.de_json(
        {
            "update_id": 9,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -1001, "type": "supergroup", "title": "g"},
                "from": {"id": 42, "is_bot": False, "first_name": "A"},
                "text": "hi",
            },
        },
        None,
    )
    assert log_context(update) == {"update_id": 9, "tenant": -1001, "user": 42}
    assert log_context(Update(10)) == {"update_id": 10}
    assert log_context("not an update") == {}


def test_an_uncaught_exception_is_logged_redacted_with_its_traceback() -> None:
    stream = configured(LOG_FORMAT="json")
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    line = json.loads(stream.getvalue())
    assert TOKEN not in stream.getvalue()
    assert line["event"] == "crash.uncaught"
    assert line["level"] == "critical"
    assert "Traceback" in line["exception"]
    assert f"`{REDACTED}` was rejected" in line["exception"]


def test_an_uncaught_exception_in_a_thread_is_logged_redacted() -> None:
    stream = configured(LOG_FORMAT="json")

    def leak() -> None:
        raise RuntimeError(f"postgresql://app:hunter2-secret@db/x {TOKEN}")

    thread = threading.Thread(target=leak, name="leaky")
    thread.start()
    thread.join()
    line = json.loads(stream.getvalue())
    assert line["event"] == "crash.thread thread=leaky"
    assert TOKEN not in stream.getvalue()
    assert "RuntimeError" in line["exception"]


def test_warnings_are_logged_redacted() -> None:
    stream = configured(LOG_FORMAT="json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # catch_warnings restored showwarning: route it again
        warnings.warn(f"calling bot{TOKEN}/getMe", UserWarning, stacklevel=1)
    line = json.loads(stream.getvalue())
    assert line["logger"] == "py.warnings"
    assert f"bot{REDACTED}/getMe" in line["event"]
    assert TOKEN not in stream.getvalue()


def test_secrets_are_redacted_percent_encoded_and_decoded_too() -> None:
    redactor = Redactor(["p@ss/word%21", TOKEN])
    text = f"p@ss/word! {TOKEN.replace(':', '%3A')} p@ss/word%21"
    assert redactor.scrub(text) == f"{REDACTED} {REDACTED} {REDACTED}"
