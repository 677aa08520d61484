"""Metrics an operator can alert on (issue 14, point 4), scraped over a real socket with traffic.

The database gauges (protected groups, members muted, pending scheduled actions and the oldest
one's lateness), the send queue's depth and wait per priority, failed updates, audit events
(kicks among them), `nezuko_build_info{version}`; and the sample alert rules and dashboard in
`deploy/` name only metrics the running bot exports.
"""

import asyncio
import json
import re
from pathlib import Path

import httpx

from adapters.http.app import create_app
from adapters.http.server import serving
from adapters.metrics import DirectoryGauges
from adapters.postgres.health import Readiness
from bootstrap.version import installed_version
from tests.integration.http.conftest import Samples, Served, sample, scrape

TIMEOUT = 10.0
ROOT = Path(__file__).resolve().parents[3]
NEW_FAMILIES = (
    "nezuko_protected_groups gauge",
    "nezuko_muted_members gauge",
    "nezuko_scheduled_actions_pending gauge",
    "nezuko_scheduled_action_lateness_seconds gauge",
    "nezuko_statistics_refreshed_timestamp_seconds gauge",
    "nezuko_send_queue_depth gauge",
    "nezuko_send_wait_seconds histogram",
    "nezuko_updates_failed_total counter",
    "nezuko_audit_events_total counter",
    "nezuko_build_info gauge",
)
_PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
    | {"unless", "offset", "le", "inf", "nan"}
)


async def test_the_operator_gauges_and_counters_move_with_traffic(polling_bot: Served) -> None:
    ids, sandbox, http = polling_bot.ids, polling_bot.sandbox, polling_bot.http
    text = (await http.get("/metrics")).text
    for family in NEW_FAMILIES:
        assert f"# TYPE {family}\n" in text
    before = await scrape(http)
    assert sample(before, "nezuko_build_info", version=installed_version()) == 1
    assert sample(before, "nezuko_protected_groups") == 0
    assert sample(before, "nezuko_statistics_refreshed_timestamp_seconds") > 0

    mark = sandbox.calls.mark()
    sandbox.driver.say(ids.group_id, ids.owner_id, "/protect @nezuko_demo_news")
    await sandbox.calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    sandbox.driver.say(ids.group_id, ids.carol_id, "hello")  # Carol misses the channel
    await sandbox.wait_until(
        lambda: sandbox.driver.is_restricted(ids.group_id, ids.carol_id), timeout=TIMEOUT
    )

    def settled(now: Samples) -> bool:
        return (
            sample(now, "nezuko_protected_groups") == 1
            and sample(now, "nezuko_muted_members") == 1
            and sample(now, "nezuko_scheduled_actions_pending") >= 1  # the warning's expiry
            and sample(now, "nezuko_send_wait_seconds_count", priority="warning")
            > sample(before, "nezuko_send_wait_seconds_count", priority="warning")
        )

    async with asyncio.timeout(TIMEOUT + 5):  # gauges are read at most every 2 s
        while True:
            after = await scrape(http)
            if settled(after):
                break
            await asyncio.sleep(0.2)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert sample(after, "nezuko_scheduled_action_lateness_seconds") == 0  # nothing overdue
    assert moved("nezuko_send_wait_seconds_count", priority="answer") >= 1  # the /protect reply
    assert moved("nezuko_audit_events_total", kind="protected") == 1
    assert moved("nezuko_audit_events_total", kind="muted") == 1
    assert moved("nezuko_audit_events_total", kind="warned") == 1
    for priority in ("answer", "warning", "notice"):
        assert sample(after, "nezuko_send_queue_depth", priority=priority) == 0  # all sent
    assert ("nezuko_updates_failed_total", (("type", "message"),)) in after
    assert (
        "nezuko_enforcement_actions_total",
        (("event", "kick_after"), ("outcome", "kicked")),
    ) in after


async def test_the_sample_alerts_and_dashboard_name_only_metrics_the_bot_exports(
    polling_bot: Served,
) -> None:
    exported = exported_names((await polling_bot.http.get("/metrics")).text)
    alerts = (ROOT / "deploy/prometheus-alerts.yml").read_text()
    rules = re.findall(r"^\s+- alert: (\w+)$", alerts, re.MULTILINE)
    expressions = re.findall(r"^\s+expr: (.+)$", alerts, re.MULTILINE)
    assert len(rules) == len(expressions) >= 8
    dashboard = json.loads((ROOT / "deploy/grafana-dashboard.json").read_text())
    targets = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(targets) >= 15
    for expression in (*expressions, *targets):
        names = metric_names(expression)
        assert names, expression
        assert names <= exported, (expression, names - exported)


def exported_names(exposition: str) -> set[str]:
    """Every series name `/metrics` may show: each family's, with a histogram's suffixes (a
    labelled family has no sample before its first event, but its name is exported)."""
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    bare = re.sub(r'"[^"]*"', "", expression)  # label values
    bare = re.sub(r"\{[^}]*\}", "", bare)  # label matchers
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # range durations
    # grouping and matching labels
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", bare))
    return {n for n in names if n.lower() not in _PROMQL_WORDS and not n[0].isdigit()}


def test_metric_names_finds_metrics_not_functions_labels_or_durations() -> None:
    expression = (
        'histogram_quantile(0.95, sum by (le, priority) (rate(x_bucket{priority="a"}[5m])))'
        " / on (job) y > 3 and time() - z"
    )
    assert metric_names(expression) == {"x_bucket", "y", "z"}


async def test_metrics_answer_while_the_gauges_cannot_be_read() -> None:
    async with (
        serving(create_app(Readiness(), gauges=DirectoryGauges()), "127.0.0.1", 0) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        scraped = await http.get("/metrics")
    assert scraped.status_code == 200  # no directory yet: nothing to refresh, no error
