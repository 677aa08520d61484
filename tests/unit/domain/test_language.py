"""Rule 15: who is addressed in which language, and the admins' own warning text."""

import pytest

from domain.errors import InvalidSetting, SettingProblem
from domain.language import (
    Language,
    group_language,
    language_of,
    private_language,
    reader_language,
)
from domain.policy import GroupSettings


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("es", Language.ES),
        ("es-419", Language.ES),
        ("pt-br", Language.PT_BR),
        ("pt", Language.PT_BR),
        ("pt_BR", Language.PT_BR),
        ("RU", Language.RU),
        ("de", None),
        ("", None),
        (None, None),
    ],
)
def test_telegram_language_codes_name_the_supported_languages(
    code: str | None, language: Language | None
) -> None:
    assert language_of(code) is language


def test_auto_speaks_each_readers_language_and_falls_back_to_english() -> None:
    assert reader_language(None, "es") is Language.ES
    assert reader_language(None, "de") is Language.EN  # German: not one of the ten
    assert reader_language(None, None) is Language.EN
    assert group_language(None) is Language.EN


def test_a_fixed_language_is_used_for_everyone_in_the_group_but_not_in_private() -> None:
    assert reader_language(Language.RU, "es") is Language.RU
    assert group_language(Language.RU) is Language.RU
    assert private_language("es") is Language.ES
    assert private_language("de") is Language.EN
    assert Language.AR.is_rtl
    assert not Language.RU.is_rtl


def test_the_language_setting_takes_auto_or_a_supported_code() -> None:
    settings = GroupSettings().changed("language", "ES")
    assert settings.language is Language.ES
    assert settings.shown()["language"] == "es"
    assert settings.changed("language", "auto").language is None
    with pytest.raises(InvalidSetting) as refused:
        settings.changed("language", "klingon")
    assert refused.value.problem is SettingProblem.CHOICES
    assert "auto" in refused.value.choices


def test_a_custom_warning_keeps_its_placeholders_and_default_restores_the_catalogs() -> None:
    text = "Hi {member}! Join {channels} to talk in {group}. {{braces}}"
    settings = GroupSettings().changed("warning_text", text)
    assert settings.warning_text == text
    assert settings.changed("warning_text", "default").warning_text is None


@pytest.mark.parametrize(
    ("text", "problem", "detail"),
    [
        ("Join {channels}!", SettingProblem.MISSING_PLACEHOLDER, "{member}"),
        ("Hi {member}, {name}", SettingProblem.UNKNOWN_PLACEHOLDER, "{name}"),
        ("Hi {member!r}", SettingProblem.UNKNOWN_PLACEHOLDER, "{member!r}"),
        ("Hi {member:>99}", SettingProblem.UNKNOWN_PLACEHOLDER, "{member:>99}"),
        ("Hi {0} {member}", SettingProblem.UNKNOWN_PLACEHOLDER, "{0}"),
        ("Hi {member} {", SettingProblem.MALFORMED, ""),
        ("Hi {member} }", SettingProblem.MALFORMED, ""),
        ("{member} " + "x" * 3800, SettingProblem.TOO_LONG, ""),
        ("{member} " + "{channels}" * 3, SettingProblem.TOO_LONG, ""),
    ],
)
def test_a_bad_custom_warning_is_refused_naming_the_problem(
    text: str, problem: SettingProblem, detail: str
) -> None:
    with pytest.raises(InvalidSetting) as refused:
        GroupSettings().changed("warning_text", text)
    assert refused.value.problem is problem
    assert refused.value.detail == detail
