"""Command replies as admins read them (issue 11 point 8): plain, and every title escaped."""

from datetime import UTC, datetime

import attrs

from adapters.telegram.i18n import ENGLISH as EN
from adapters.telegram.i18n import texts
from adapters.telegram.replies import (
    SETTING_DESCRIPTIONS,
    error_html,
    explanation_html,
    finding_html,
    log_html,
    logged_html,
    settings_result_html,
)
from adapters.telegram.texts import SETTINGS_CHOICES, settings_label
from application.diagnosis import Finding, Problem
from application.paging import Page
from application.targeting import Refusal, TargetRefused
from application.use_cases.change_settings import SettingsResult
from application.use_cases.explain_member import Explanation
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.errors import UnknownSetting
from domain.ids import ChannelId, GroupId, UserId
from domain.language import Language
from domain.membership import Membership, MemberStatus
from domain.policy import GroupSettings, RequiredChannel
from domain.restriction import Restriction

NEWS = RequiredChannel(ChannelId(-1001), "News <&>", "news")
MEMBER = Membership(MemberStatus.MEMBER)
RESTRICTED = Membership(MemberStatus.RESTRICTED, is_member=True)
SINCE = datetime(2026, 12, 2, 4, 47, tzinfo=UTC)
MUTE = Restriction(GroupId(-100), UserId(5), (NEWS.channel_id,), SINCE)


def test_why_on_a_member_who_is_not_muted_says_so_plainly() -> None:
    text = explanation_html(Explanation(protected=True, standing=MEMBER), EN)
    assert text == "Not muted."


def test_why_on_a_member_an_admin_muted_says_it_is_the_admins_mute() -> None:
    text = explanation_html(Explanation(protected=True, missing=(NEWS,), standing=RESTRICTED), EN)
    assert text == (
        'Not joined: <a href="https://t.me/news">News &lt;&amp;&gt;</a>. '
        "Restricted by an admin, not by me: only an admin can lift it."
    )
    unprotected = explanation_html(Explanation(protected=False, standing=RESTRICTED), EN)
    assert "only an admin can lift it" in unprotected


def test_why_on_a_member_the_bot_muted_says_since_when() -> None:
    text = explanation_html(Explanation(protected=True, restriction=MUTE, standing=RESTRICTED), EN)
    assert text == "Muted by me since 2026-12-02 04:47 UTC."


def test_why_on_someone_not_in_the_group_or_banned_says_where_they_are() -> None:
    left = Explanation(protected=True, standing=Membership(MemberStatus.LEFT))
    banned = Explanation(protected=True, standing=Membership(MemberStatus.KICKED))
    assert explanation_html(left, EN) == "Not in this group."
    assert explanation_html(banned, EN) == "Banned from this group."


def test_why_when_telegram_would_not_say_claims_nothing_about_admins() -> None:
    assert explanation_html(Explanation(protected=True), EN) == "Not muted by me."


def test_why_on_an_id_telegram_does_not_know_says_the_user_is_unknown() -> None:
    text = explanation_html(Explanation(protected=True, unknown_user=True), EN)
    assert text == "Telegram knows no user with this id: check the number."


def test_an_unknown_setting_lists_the_valid_keys_escaped() -> None:
    text = error_html(UnknownSetting("<colour>", GroupSettings.KEYS), EN)
    assert text == (
        "Unknown setting <code>&lt;colour&gt;</code>. Settings: <code>failure_policy</code>, "
        "<code>warning_ttl</code>, <code>kick_after</code>, <code>raid_threshold</code>, "
        "<code>join_gate</code>, <code>join_gate_timeout</code>, <code>language</code>, "
        "<code>warning_text</code>."
    )


def test_the_settings_reply_says_what_each_setting_does() -> None:
    text = settings_result_html(SettingsResult(GroupSettings()), EN)
    lines = text.splitlines()
    assert len(lines) == len(GroupSettings.KEYS)
    for key, line in zip(GroupSettings.KEYS, lines, strict=True):
        assert line.startswith(f"<code>{key}</code> = <b>")
        languages = "en, es, pt_BR, ru, uk, tr, ar, fa, hi, id"
        assert line.endswith(EN.gettext(SETTING_DESCRIPTIONS[key], languages=languages))


def test_every_settings_button_says_what_choosing_it_does() -> None:
    labels = {settings_label(k, v, EN) for k, values in SETTINGS_CHOICES.items() for v in values}
    assert labels == {
        "Check fails: let talk",
        "Check fails: mute",
        "Warnings stay 30s",
        "Warnings stay 2m",
        "Warnings stay 10m",
        "Warnings stay 1h",
        "Never kick",
        "Kick muted after 1h",
        "Kick muted after 1d",
        "Kick muted after 7d",
        "Raid mode: by hand",
        "Raid at 10 joins/min",
        "Raid at 20 joins/min",
        "Raid at 50 joins/min",
        "Gate join requests",
        "Leave requests to admins",
        "Requests wait for admins",
        "Decline requests after 10m",
        "Decline requests after 1h",
        "Decline requests after 1d",
        "🌐 Each member's language",
        *(f"🌐 {name}" for name in ("English", "Español", "Português (Brasil)", "Русский")),
        *(f"🌐 {name}" for name in ("Українська", "Türkçe", "العربية", "فارسی", "हिन्दी")),
        "🌐 Indonesia",
    }
    assert settings_label("new_setting", "on", EN) == "new_setting on"  # one without a label yet


def test_a_finding_names_the_channel_by_the_title_it_carries_escaped() -> None:
    finding = Finding(Problem.CANNOT_INVITE, -1001000000012, "Secret <Club>")
    assert finding_html(finding, EN) == (
        "Give me the <i>Invite users via link</i> right in <b>Secret &lt;Club&gt;</b>."
    )


def test_every_target_refusal_gives_a_reason_and_escapes_the_username() -> None:
    for refusal in Refusal:
        text = error_html(TargetRefused(refusal, "<b>x</b>"), EN)
        assert text, refusal
        assert not text.startswith("Something went wrong"), refusal
    unknown = error_html(TargetRefused(Refusal.UNKNOWN_USERNAME, "<b>x</b>"), EN)
    assert "@&lt;b&gt;x&lt;/b&gt;" in unknown
    assert "names several members" in error_html(TargetRefused(Refusal.SEVERAL_WARNED), EN)


_KICKED = AuditEvent.kicked(
    GroupId(-100), SINCE, UserId(5), reasons.NOT_VERIFIED_AFTER.format(duration="1h")
)
_REFUSED = AuditEvent.action_failed(
    GroupId(-100), SINCE, UserId(5), reasons.RESTRICT_REFUSED.format(error="<b>no</b> & co")
)


def test_log_shows_a_recorded_reason_in_the_readers_language() -> None:
    page = Page((_KICKED, _REFUSED), number=1, pages=1, total=2)
    spanish = log_html(page, texts(Language.ES))
    assert ": <i>sin verificar tras 1h</i>" in spanish
    assert ": <i>silencio rechazado: &lt;b&gt;no&lt;/b&gt; &amp; co</i>" in spanish
    russian = log_html(page, texts(Language.RU))
    assert ": <i>не прошёл проверку за 1h</i>" in russian
    assert "not verified" not in russian
    assert ": <i>not verified after 1h</i>" in log_html(page, EN)  # English as recorded


def test_log_shows_free_text_and_settings_as_recorded_escaped() -> None:
    older = attrs.evolve(_KICKED, reason="kicked by <an older> version & co")
    setting = AuditEvent.by(
        UserId(1),
        AuditKind.SETTING_CHANGED,
        GroupId(-100),
        SINCE,
        reason=reasons.SETTING.format(key="warning_text", value="12 muted"),
    )
    russian = texts(Language.RU)
    assert logged_html(older, russian).endswith(
        ": <i>kicked by &lt;an older&gt; version &amp; co</i>"
    )
    assert logged_html(setting, russian).endswith(": <i>warning_text=12 muted</i>")
