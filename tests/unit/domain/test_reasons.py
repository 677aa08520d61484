"""Audit reasons: recorded in English from a template, recognized again where shown (rule 15)."""

import string
from datetime import UTC, datetime

import pytest

from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId, UserId
from domain.restriction import WarningReason

AT = datetime(2026, 12, 2, tzinfo=UTC)
SAMPLES = {
    "channels": "-1002000000001, -1002000000002",
    "duration": "1h",
    "error": "Bad Request: not enough rights to restrict/unrestrict chat member; try (again)",
    "seconds": "3.5",
    "action": "kick_unverified",
    "attempts": "5",
    "channel": "-1002000000003",
    "notice": "checks_failing",
    "policy": "closed",
    "count": "12",
    "status": "administrator",
    "key": "warning_ttl",
    "value": "2m",
    "title": "News",
}
"""A value for each placeholder, with the separators the templates use (`: `, `; `, `(`)."""


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@pytest.mark.parametrize("template", reasons.TEMPLATES)
def test_every_template_round_trips_through_the_recorded_english(template: str) -> None:
    values = {name: SAMPLES[name] for name in _fields(template)}
    assert reasons.recognize(template.format(**values)) == (template, values)


def test_the_templates_are_distinct_and_the_mutes_cover_every_warning_reason() -> None:
    assert len(set(reasons.TEMPLATES)) == len(reasons.TEMPLATES)
    assert set(reasons.MUTED_FOR) == set(WarningReason)
    assert reasons.MUTE_DEFERRED in reasons.TEMPLATES


def test_the_stored_form_is_what_the_trail_always_stored() -> None:
    """Rows written before the templates read the same: these are the old reasons, verbatim."""
    kicked = reasons.NOT_VERIFIED_AFTER.format(duration="1h")
    assert reasons.recognize(kicked) == (reasons.NOT_VERIFIED_AFTER, {"duration": "1h"})
    muted = AuditEvent.muted(
        GroupId(-100),
        AT,
        UserId(5),
        (ChannelId(-1001), ChannelId(-1002)),
        reasons.MUTED_FOR[WarningReason.SPOKE],
    )
    assert muted.reason == "spoke; missing -1001, -1002"
    assert muted.recognized_reason() == (
        reasons.MUTED_FOR[WarningReason.SPOKE],
        {"channels": "-1001, -1002"},
    )
    assert reasons.recognize("restrict deferred 3 s: Too Many Requests") == (
        reasons.RESTRICT_DEFERRED,  # the more specific template wins over `{action} deferred …`
        {"seconds": "3", "error": "Too Many Requests"},
    )


def test_free_text_and_what_admins_typed_are_not_recognized() -> None:
    assert reasons.recognize("an older version's own words") is None
    assert reasons.recognize("") is None
    typed = AuditEvent.by(
        UserId(1),
        AuditKind.SETTING_CHANGED,
        GroupId(-100),
        AT,
        reason=reasons.SETTING.format(key="warning_text", value="12 muted"),
    )
    assert reasons.recognize(typed.reason) is not None  # "warning_text=12 muted": a raid's end…
    assert typed.recognized_reason() is None  # …but a setting is shown as typed
    titled = AuditEvent.by(
        UserId(1),
        AuditKind.LOG_CHANNEL_SET,
        GroupId(-100),
        AT,
        reason=reasons.LOG_CHANNEL.format(title="verified", channel=-1003),
    )
    assert titled.recognized_reason() is None
