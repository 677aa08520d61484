"""Prometheus metrics: one registry and the metric families every adapter family may count in.

A neutral module like `adapters.system_clock`: the Telegram handlers and rate limiter, the memory
caches and the HTTP server import it without importing each other. Labels take values from small
fixed sets (update types, Bot API method names, outcome enums, error classes); user and chat ids
never become labels, so the number of series stays bounded however many groups the bot serves.
The inner layers know nothing of this: handlers count what a use case returned.
"""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

# `*_created` series would double the series count and tell an operator nothing here.
disable_created_metrics()

REGISTRY = CollectorRegistry()
"""Everything `/metrics` shows (the process, the runtime and the families below)."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

UPDATES = Counter(
    "nezuko_updates",
    "Updates handled, by type (message, edited_message, callback_query, chat_member, "
    "my_chat_member, chat_join_request, other).",
    ["type"],
    registry=REGISTRY,
)
HANDLING_SECONDS = Histogram(
    "nezuko_update_handling_seconds",
    "Time from the start to the end of one update's handling (every handler group), by type.",
    ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
ENFORCEMENT = Counter(
    "nezuko_enforcement_actions",
    "Outcomes of the enforcement use cases, by event (message, member_update, channel_member, "
    "verify, bot_status, join_request) and outcome (the use case's result; channel_member "
    "counts one per group).",
    ["event", "outcome"],
    registry=REGISTRY,
)
BOT_API_CALLS = Counter(
    "nezuko_bot_api_calls",
    "Bot API requests (each attempt, retries included), by method and outcome: ok, or the "
    "error's class (RetryAfter, BadRequest, Forbidden, TimedOut, NetworkError, ...).",
    ["method", "outcome"],
    registry=REGISTRY,
)
BOT_API_FLOODS = Counter(
    "nezuko_bot_api_flood_waits",
    "429 Too Many Requests answers from the Bot API, by method.",
    ["method"],
    registry=REGISTRY,
)
BOT_API_FLOOD_SECONDS = Counter(
    "nezuko_bot_api_flood_wait_seconds",
    "Seconds of retry_after the Bot API asked for in its 429 answers, by method.",
    ["method"],
    registry=REGISTRY,
)
CACHE_LOOKUPS = Counter(
    "nezuko_cache_lookups",
    "In-process cache lookups, by cache (membership, admins, group) and result (hit, miss).",
    ["cache", "result"],
    registry=REGISTRY,
)
WEBHOOK_REQUESTS = Counter(
    "nezuko_webhook_requests",
    "Webhook POSTs, by outcome (accepted, ignored: a kind the bot does not ask for, "
    "missing_secret, wrong_secret, too_large, malformed: not a JSON object, invalid: not a "
    "structurally valid update, not_accepting).",
    ["outcome"],
    registry=REGISTRY,
)

UPDATE_TYPES = (
    "message",
    "edited_message",
    "callback_query",
    "chat_member",
    "my_chat_member",
    "chat_join_request",
    "other",
)
"""The values of the `type` label (what the bot asks Telegram for, and anything else)."""
CACHES = ("membership", "admins", "group")
WEBHOOK_OUTCOMES = (
    "accepted",
    "missing_secret",
    "wrong_secret",
    "too_large",
    "malformed",
    "not_accepting",
    "ignored",
    "invalid",
)

# Series that exist from the start, so rates and ratios work before the first event.
for _type in UPDATE_TYPES:
    UPDATES.labels(_type)
for _cache in CACHES:
    CACHE_LOOKUPS.labels(_cache, "hit")
    CACHE_LOOKUPS.labels(_cache, "miss")
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_REQUESTS.labels(_outcome)

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of `exposition()`."""


def exposition() -> bytes:
    """Every metric of the registry in the Prometheus text format."""
    return generate_latest(REGISTRY)


def updates_handled(update_type: str) -> float:
    """How many updates of one type this process has finished handling."""
    # The one series' samples, not the whole registry's (the bench asks this in a loop).
    for metric in HANDLING_SECONDS.labels(update_type).collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                return sample.value
    return 0.0


_CACHE_LOOKUPS = {
    (cache, hit): CACHE_LOOKUPS.labels(cache, "hit" if hit else "miss")
    for cache in CACHES
    for hit in (True, False)
}
"""The children of `CACHE_LOOKUPS`: `labels()` costs a lock and a look-up on every call, and
the hot path counts two or three lookups per message."""
_ENFORCEMENT: dict[tuple[str, str], Counter] = {}


def count_cache_lookup(cache: str, hit: bool) -> None:
    """Count one lookup in `cache` (membership, admins, group)."""
    child = _CACHE_LOOKUPS.get((cache, hit))
    if child is None:
        child = _CACHE_LOOKUPS[cache, hit] = CACHE_LOOKUPS.labels(cache, "hit" if hit else "miss")
    child.inc()


def count_enforcement(event: str, outcome: str, times: int = 1) -> None:
    """Count `times` outcomes of an enforcement use case."""
    if times:
        child = _ENFORCEMENT.get((event, outcome))
        if child is None:
            child = _ENFORCEMENT[event, outcome] = ENFORCEMENT.labels(event, outcome)
        child.inc(times)


def update_series(update_type: str) -> tuple[Counter, Histogram]:
    """The children of `UPDATES` and `HANDLING_SECONDS` for one update type.

    Looked up once: the update processor counts and times every update.
    """
    return UPDATES.labels(update_type), HANDLING_SECONDS.labels(update_type)
