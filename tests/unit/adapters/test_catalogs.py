"""Rule 15: the catalogs are complete, in step with the code, and every text parses as HTML.

- Every language's catalog has every message of `messages.pot`, translated (not empty, not
  fuzzy), with the same `{placeholders}` as the English (each plural form too) and exactly the
  plural forms its language has (CLDR, via Babel). Until translators fill a language in, its
  test fails: that is the point.
- `messages.pot` is what `pybabel extract` finds in the code now (`make catalogs` was run).
- Every message, in every language, filled with hostile titles and names (`<`, `&`, `_`, `*`,
  right-to-left marks, 300 characters), is HTML the Bot API sandbox (Telegram's parser)
  accepts, within Telegram's 4096 characters.
"""

import html
import string
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg  # pyright: ignore[reportUnknownVariableType]
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from adapters.telegram.i18n import FSI, LOCALES, PDI, Texts, po_path, texts
from adapters.telegram.notices import log_batch_html, member_notice_html, notice_html
from adapters.telegram.texts import gate_invitation_html, raid_notice_html, warning_html
from application.ports.messenger import (
    AdminNotice,
    GateInvitation,
    LogBatch,
    MemberNotice,
    MuteWarning,
    RaidNotice,
)
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId, UserId
from domain.language import Language
from domain.notices import NoticeKind
from domain.policy import RequiredChannel
from domain.restriction import WarningReason
from domain.senders import Person
from telegram_sandbox.text import parse_html

POT = LOCALES / "messages.pot"
ROOT = Path(__file__).parents[3]
HOSTILE = "<b>Evil</b> & _under_ *star* \u200f\u202eRTL\u202c " + "x" * 300
"""A title or name as hostile as Telegram lets one be (escaped by the code before use)."""
TELEGRAM_LIMIT = 4096


def _catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale)


def _messages(catalog: Catalog) -> dict[tuple[str, str | None], Message]:
    return {(_id(m), m.context): m for m in catalog if m.id}


def _id(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _forms(message: Message) -> tuple[str, ...]:
    string_ = message.string
    if isinstance(string_, str):
        return (string_,)
    return tuple(string_ or ())


def _ids(message: Message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


@pytest.mark.parametrize("language", list(Language), ids=str)
def test_every_catalog_translates_every_message_with_its_placeholders(language: Language) -> None:
    pot = _messages(_catalog(POT))
    catalog = _catalog(po_path(language), language.value)
    translated = _messages(catalog)
    nplurals = get_plural(language.value).num_plurals  # CLDR's rules, as Babel writes them
    assert catalog.num_plurals == nplurals, f"{language}: Plural-Forms header disagrees with CLDR"
    problems: list[str] = []
    for key, wanted in pot.items():
        message = translated.get(key)
        if message is None:
            problems.append(f"missing: {key[0]!r}")
            continue
        forms = _forms(message)
        if message.fuzzy or not all(forms):
            problems.append(f"untranslated or fuzzy: {key[0]!r}")
            continue
        english: set[str] = set[str]().union(*map(_placeholders, _ids(wanted)))
        if wanted.pluralizable and len(forms) != nplurals:
            problems.append(f"{len(forms)} plural forms, {language} has {nplurals}: {key[0]!r}")
        for form in forms:
            if _placeholders(form) != english:
                problems.append(f"placeholders {_placeholders(form)} != {english}: {key[0]!r}")
    assert not problems, f"{language}: {len(problems)} problems\n" + "\n".join(problems[:20])


def test_the_template_is_what_the_code_says_now() -> None:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # pyright: ignore[reportUnknownVariableType]
    found = {
        (msgid if isinstance(msgid, str) else msgid[0], context)
        for _, _, msgid, _, context in extract_from_dir(
            str(ROOT / "src"),
            method_map,  # pyright: ignore[reportUnknownArgumentType]
            options_map,  # pyright: ignore[reportUnknownArgumentType]
        )
    }
    assert found == set(_messages(_catalog(POT))), "run `make catalogs`"


def test_every_audit_reason_template_is_a_message() -> None:
    """`N_` of `domain.reasons` is extracted: each template has a translation to look up."""
    assert {(template, None) for template in reasons.TEMPLATES} <= set(_messages(_catalog(POT)))


@pytest.mark.parametrize("language", list(Language), ids=str)
def test_every_message_parses_as_telegram_html_with_hostile_values(language: Language) -> None:
    """Each message as the catalog gives it (English where a translation is missing)."""
    t = texts(language)
    for key, message in _messages(_catalog(POT)).items():
        msgid, context = key
        if message.pluralizable:
            plural = _ids(message)[1]
            variants = [t.ngettext(msgid, plural, n, **_values(msgid)) for n in (0, 1, 2, 5, 21)]
        elif context is not None:
            variants = [t.pgettext(context, msgid, **_values(msgid))]
        elif "count" in _placeholders(msgid):
            variants = [t.gettext(msgid, count=12345, **_values(msgid))]
        else:
            variants = [t.gettext(msgid, **_values(msgid))]
        for text in variants:
            plain, _ = parse_html(text)  # raises on markup Telegram would refuse
            assert len(plain) <= TELEGRAM_LIMIT, msgid
            assert "<b>Evil</b>" in plain or not _placeholders(msgid) - {"count"}, msgid


def _values(msgid: str) -> dict[str, object]:
    """A hostile escaped title for each placeholder; `count` is a number (ngettext gives it)."""
    values: dict[str, object] = dict.fromkeys(_placeholders(msgid), html.escape(HOSTILE))
    values.pop("count", None)
    return values


_CHANNELS = (
    RequiredChannel(ChannelId(-1002000000001), HOSTILE, "news_channel"),
    RequiredChannel(ChannelId(-1002000000002), "\u05e2\u05d1\u05e8\u05d9\u05ea <&>", None),
)
_MEMBER = Person(UserId(77), HOSTILE)
_CUSTOM = "Hola {member} 👋 <i>no</i> & {{x}}: {channels} — {group}"


def _rendered(t: Texts) -> list[str]:
    """The texts built from several messages, through the functions that send them."""
    warning = MuteWarning(GroupId(-100), _MEMBER, _CHANNELS, WarningReason.JOINED)
    merged = attrs.evolve(warning, others=(_MEMBER, _MEMBER))
    custom = attrs.evolve(warning, custom_text=_CUSTOM, group_title=HOSTILE)
    raid = RaidNotice(GroupId(-100), _CHANNELS, 7)
    events = tuple(
        AuditEvent(
            GroupId(-100),
            kind,
            datetime(2026, 12, 2, tzinfo=UTC),
            UserId(5),
            UserId(6),
            None,
            "why <&> _*_",
        )
        for kind in AuditKind
    )
    return [
        *(warning_html(attrs.evolve(warning, reason=r), t) for r in WarningReason),
        warning_html(merged, t),
        warning_html(custom, t),
        raid_notice_html(raid, t),
        raid_notice_html(attrs.evolve(raid, over=True), t),
        gate_invitation_html(GateInvitation(1, GroupId(-100), HOSTILE, _CHANNELS, None), t),
        *(
            notice_html(AdminNotice(GroupId(-100), kind, _CHANNELS[0], 3), t)
            for kind in NoticeKind
        ),
        member_notice_html(
            MemberNotice(GroupId(-100), UserId(5), NoticeKind.MEMBER_FREED, HOSTILE), t
        ),
        log_batch_html(LogBatch(ChannelId(-1003), HOSTILE, events[:10]), t),
    ]


@pytest.mark.parametrize("language", list(Language), ids=str)
def test_warnings_notices_and_logs_parse_with_hostile_titles_and_names(language: Language) -> None:
    for text in _rendered(texts(language)):
        plain, entities = parse_html(text)
        assert len(plain) <= TELEGRAM_LIMIT
        assert "<b>Evil" not in text  # escaped, never interpreted
        assert HOSTILE in plain or "Evil" not in plain  # where shown, shown whole
        assert {e["type"] for e in entities} <= {"bold", "italic", "text_link", "code"}


def test_right_to_left_texts_isolate_names_and_titles_left_to_right_ones_do_not() -> None:
    warning = MuteWarning(GroupId(-100), _MEMBER, _CHANNELS[:1], WarningReason.SPOKE)
    arabic = parse_html(warning_html(warning, texts(Language.AR)))[0]
    assert f"{FSI}{HOSTILE}{PDI}" in arabic  # the member's name, whole and isolated
    assert arabic.count(FSI) == arabic.count(PDI)
    english = warning_html(warning, texts(Language.EN))
    assert FSI not in english  # English output is unchanged
    assert PDI not in english


def test_a_custom_warning_is_escaped_like_any_title() -> None:
    custom = MuteWarning(
        GroupId(-100), _MEMBER, _CHANNELS[:1], WarningReason.SPOKE, custom_text=_CUSTOM
    )
    plain, _ = parse_html(warning_html(custom, texts(Language.EN)))
    assert plain.startswith(f"Hola {HOSTILE} 👋 <i>no</i> & {{x}}: {HOSTILE} — the group\n")
