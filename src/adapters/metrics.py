"""Prometheus metrics: one registry and the metric families every adapter family may count in.

A neutral module like `adapters.system_clock`: the Telegram handlers and rate limiter, the memory
caches and the HTTP server import it without importing each other. Labels take values from small
fixed sets (update types, Bot API method names, outcome enums, error classes); user and chat ids
never become labels, so the number of series stays bounded however many groups the bot serves.
The inner layers know nothing of this: handlers count what a use case returned.
"""

import asyncio
import functools
import logging
import math
import time
from collections.abc import Callable

import attrs
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from application.errors import StorageError
from application.ports.clock import Clock
from application.ports.unit_of_work import TenantDirectory
from domain.audit import AuditEvent, AuditKind

log = logging.getLogger(__name__)

# `*_created` series would double the series count and tell an operator nothing here.
disable_created_metrics()

REGISTRY = CollectorRegistry()
"""Everything `/metrics` shows (the process, the runtime and the families below)."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


class Tally(Collector):
    """A labelled counter kept in plain integers and read when `/metrics` is scraped.

    prometheus_client's `Counter.inc` takes a lock (threads may scrape); the hot path counts
    several things per message, all in the event loop's thread, where `/metrics` is served too
    (uvicorn in the same loop), so a dictionary of integers is enough. The series read as
    those of a `Counter` of the same name (`<name>_total`).
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: tuple[str, ...],
        registry: CollectorRegistry,
    ) -> None:
        self._name, self._documentation, self._labelnames = name, documentation, labelnames
        self.counts: dict[tuple[str, ...], float] = {}
        """The count of each label set (the labels' values in `labelnames` order)."""
        registry.register(self)

    def inc(self, *labels: str, amount: float = 1) -> None:
        """Add `amount` to the series of `labels`."""
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.counts[labels] = self.counts.get(labels, 0) + amount

    def start(self, *labels: str) -> None:
        """Show the series of `labels` from the start (at 0), so rates work before an event."""
        self.counts.setdefault(labels, 0)

    def describe(self) -> list[Metric]:
        """The family without samples (the registry checks names with it)."""
        return [CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> list[Metric]:
        """The family with one sample per label set."""
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for labels, count in list(self.counts.items()):
            family.add_metric(labels, count)
        return [family]


UPDATES = Tally(
    "nezuko_updates",
    "Updates handled, by type (message, edited_message, callback_query, chat_member, "
    "my_chat_member, chat_join_request, other).",
    ("type",),
    REGISTRY,
)
HANDLING_SECONDS = Histogram(
    "nezuko_update_handling_seconds",
    "Time from the start to the end of one update's handling (every handler group), by type.",
    ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
ENFORCEMENT = Tally(
    "nezuko_enforcement_actions",
    "Outcomes of the enforcement use cases, by event (message, member_update, channel_member, "
    "verify, bot_status, join_request) and outcome (the use case's result; channel_member "
    "counts one per group).",
    ("event", "outcome"),
    REGISTRY,
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
CACHE_LOOKUPS = Tally(
    "nezuko_cache_lookups",
    "In-process cache lookups, by cache (membership, admins, group, username) and result "
    "(hit, miss).",
    ("cache", "result"),
    REGISTRY,
)
WEBHOOK_REQUESTS = Counter(
    "nezuko_webhook_requests",
    "Webhook POSTs, by outcome (accepted, ignored: a kind the bot does not ask for, "
    "missing_secret, wrong_secret, too_large, malformed: not a JSON object, invalid: not a "
    "structurally valid update, not_accepting).",
    ["outcome"],
    registry=REGISTRY,
)

UPDATES_FAILED = Counter(
    "nezuko_updates_failed",
    "Updates whose handling raised (a bug, or a failure no handler expected), by type; each is "
    "one `update.failed` log line with its traceback.",
    ["type"],
    registry=REGISTRY,
)
AUDIT_EVENTS = Counter(
    "nezuko_audit_events",
    "Audit events committed (rule 9), by kind: muted, unmuted, warned, message_deleted, "
    "kicked, check_failed, action_failed, protected, unprotected, setting_changed, ...",
    ["kind"],
    registry=REGISTRY,
)
SEND_QUEUE = Gauge(
    "nezuko_send_queue_depth",
    "Sends into chats waiting for their chat's pace now, by priority (answer, warning, notice).",
    ["priority"],
    registry=REGISTRY,
)
SEND_WAIT = Histogram(
    "nezuko_send_wait_seconds",
    "Time a send waited for its chat's turn and pace before going out, by priority.",
    ["priority"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0, 600.0),
    registry=REGISTRY,
)
PROTECTED_GROUPS = Gauge(
    "nezuko_protected_groups",
    "Groups with protection on and at least one required channel (from the database).",
    registry=REGISTRY,
)
MUTED_MEMBERS = Gauge(
    "nezuko_muted_members",
    "Members the bot holds muted, in every group (from the database).",
    registry=REGISTRY,
)
PENDING_ACTIONS = Gauge(
    "nezuko_scheduled_actions_pending",
    "Scheduled actions not done yet: deletions, kicks, lifts, warnings, notices.",
    registry=REGISTRY,
)
OLDEST_ACTION_LATENESS = Gauge(
    "nezuko_scheduled_action_lateness_seconds",
    "How overdue the earliest pending scheduled action is (0 when none is due).",
    registry=REGISTRY,
)
STATISTICS_REFRESHED = Gauge(
    "nezuko_statistics_refreshed_timestamp_seconds",
    "When the database gauges were last read (Unix time); stale while the database is away.",
    registry=REGISTRY,
)
BUILD = Info("nezuko_build", "The running version (label `version`).", registry=REGISTRY)

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
CACHES = ("membership", "admins", "group", "username")
SEND_PRIORITIES = ("answer", "warning", "notice")
"""The values of the `priority` label (the rate limiter's `Priority`, lower-cased)."""
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
    UPDATES.start(_type)
for _cache in CACHES:
    CACHE_LOOKUPS.start(_cache, "hit")
    CACHE_LOOKUPS.start(_cache, "miss")
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_REQUESTS.labels(_outcome)
for _type in UPDATE_TYPES:
    UPDATES_FAILED.labels(_type)
for _kind in AuditKind:
    AUDIT_EVENTS.labels(_kind.value)
for _priority in SEND_PRIORITIES:
    SEND_QUEUE.labels(_priority)
ENFORCEMENT.start("kick_after", "kicked")

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


def count_cache_lookup(cache: str, hit: bool) -> None:
    """Count one lookup in `cache` (membership, admins, group, username)."""
    CACHE_LOOKUPS.inc(cache, "hit" if hit else "miss")


def count_enforcement(event: str, outcome: str, times: int = 1) -> None:
    """Count `times` outcomes of an enforcement use case."""
    if times:
        ENFORCEMENT.inc(event, outcome, amount=times)


def count_audit_event(event: AuditEvent) -> None:
    """Count one committed audit event (an observer of `LoggedUnitOfWork`).

    A kick (`kick_after`) is also an enforcement outcome: `event="kick_after", outcome="kicked"`.
    """
    AUDIT_EVENTS.labels(event.kind.value).inc()
    if event.kind is AuditKind.KICKED:
        count_enforcement("kick_after", "kicked")


def set_build_info(version: str) -> None:
    """Expose `nezuko_build_info{version="…"} 1`."""
    BUILD.info({"version": version})


@attrs.define
class DirectoryGauges:
    """The gauges that need the database, read on scrape, at most once per `min_interval`.

    One `TenantDirectory.statistics()` round trip (counts only) per refresh, whatever the
    number of groups or scrapes; nothing on the message path. While the database does not
    answer (within `timeout`) the gauges keep their last values and
    `nezuko_statistics_refreshed_timestamp_seconds` stops moving. Until `directory` is set (the
    database still starting), there is nothing to refresh.
    """

    directory: TenantDirectory | None = None
    clock: Clock | None = None
    min_interval: float = 2.0
    timeout: float = 2.0
    _last: float = -math.inf

    async def refresh(self) -> None:
        """Read the statistics again unless they were read less than `min_interval` ago."""
        directory, clock = self.directory, self.clock
        if directory is None or clock is None:
            return
        started = time.monotonic()
        if started - self._last < self.min_interval:
            return
        self._last = started
        try:
            async with asyncio.timeout(self.timeout):
                statistics = await directory.statistics()
        except (StorageError, TimeoutError) as error:
            log.debug("metrics.statistics_unavailable error=%r", error)
            return
        PROTECTED_GROUPS.set(statistics.protected_groups)
        MUTED_MEMBERS.set(statistics.muted_members)
        PENDING_ACTIONS.set(statistics.pending_actions)
        OLDEST_ACTION_LATENESS.set(statistics.lateness(clock.now()))
        STATISTICS_REFRESHED.set(time.time())


def update_series(update_type: str) -> tuple[Callable[[], None], Histogram]:
    """How to count one update of a type, and the child of `HANDLING_SECONDS` that times it.

    Looked up once: the update processor counts and times every update.
    """
    return functools.partial(UPDATES.inc, update_type), HANDLING_SECONDS.labels(update_type)
