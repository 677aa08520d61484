"""A flood of refused webhook requests is counted in full and logged in a few lines."""

import json
import logging
import time

import pytest

from adapters.http.app import REJECTION_LOG_INTERVAL
from tests.integration.http.conftest import SECRET, WEBHOOK_PATH, Served, sample, scrape

HEADER = "X-Telegram-Bot-Api-Secret-Token"
FLOOD = 1_000


async def test_a_thousand_refused_requests_are_all_counted_and_logged_in_a_few_lines(
    webhook_bot: Served, caplog: pytest.LogCaptureFixture
) -> None:
    http = webhook_bot.http
    refusals: list[tuple[str, dict[str, str], bytes]] = [
        ("missing_secret", {}, b"{}"),
        ("wrong_secret", {HEADER: "guess"}, b"{}"),
        ("malformed", {HEADER: SECRET}, b"not json"),
        ("invalid", {HEADER: SECRET}, json.dumps({"update_id": 1, "message": {}}).encode()),
    ]
    before = await scrape(http)
    caplog.set_level(logging.INFO)
    started = time.monotonic()

    for n in range(FLOOD):
        _, headers, body = refusals[n % len(refusals)]
        answer = await http.post(WEBHOOK_PATH, content=body, headers=headers)
        assert answer.status_code in (400, 401, 403)

    elapsed = time.monotonic() - started
    after = await scrape(http)
    for outcome, _, _ in refusals:
        counted = sample(after, "nezuko_webhook_requests_total", outcome=outcome) - sample(
            before, "nezuko_webhook_requests_total", outcome=outcome
        )
        assert counted == FLOOD // len(refusals), outcome
    # Left out: the test's own client (httpx), and uvicorn's access log, which is off in
    # `adapters.http.server` (no handler, no propagation) but which pytest's caplog captures.
    lines = [r for r in caplog.records if not r.name.startswith(("httpx", "uvicorn.access"))]
    # One line per outcome at the start, then at most one per outcome per interval.
    intervals = 1 + int(elapsed // REJECTION_LOG_INTERVAL)
    assert len(refusals) <= len(lines) <= len(refusals) * intervals, [
        r.getMessage() for r in lines
    ][:10]
    assert all("webhook.rejected" in r.getMessage() for r in lines)
    later = [r.getMessage() for r in lines[len(refusals) :]]
    assert all("suppressed=0" not in line for line in later)  # a later line says how many
