"""Which language the bot speaks to whom (rule 15): the supported set and the choice.

Pure: the group's `language` setting, the addressed person's Telegram `language_code` (an IETF
tag such as `pt-br`, as their app reports it) and the supported set decide. The words themselves
live in the Telegram adapter's catalogs.
"""

import enum


class Language(enum.StrEnum):
    """A language the bot has catalogs for; the value is the catalog's locale name."""

    EN = "en"
    ES = "es"
    PT_BR = "pt_BR"
    RU = "ru"
    UK = "uk"
    TR = "tr"
    AR = "ar"
    FA = "fa"
    HI = "hi"
    ID = "id"

    @property
    def is_rtl(self) -> bool:
        """Written right to left (names and titles inside are isolated, rule 15)."""
        return self in _RTL


_RTL = frozenset({Language.AR, Language.FA})

DEFAULT_LANGUAGE = Language.EN
"""The last fallback: the language of the catalogs' message ids."""

AUTO = "auto"
"""The `language` setting that speaks each reader's own language."""


def language_of(code: str | None) -> Language | None:
    """The supported language a Telegram `language_code` (or a typed code) names, or `None`.

    Case, `-` or `_` do not matter; an exact match wins (`pt-BR`), else the primary subtag
    (`es-419` → Spanish, `pt` → Portuguese (Brazil), the one Portuguese the bot speaks).
    """
    if not code:
        return None
    tag = code.strip().lower().replace("_", "-")
    for language in Language:
        if language.value.lower().replace("_", "-") == tag:
            return language
    primary = tag.split("-", 1)[0]
    for language in Language:
        if language.value.lower().split("_", 1)[0] == primary:
            return language
    return None


def group_language(setting: Language | None) -> Language:
    """The group's own language: the fixed one, else (`auto`) English.

    A group has no language of its own in Telegram; with `auto`, what is addressed to the
    group as a whole (merged warnings, raid notices, admin notices, the log channel) is English.
    """
    return setting or DEFAULT_LANGUAGE


def reader_language(setting: Language | None, code: str | None) -> Language:
    """The language for a text addressed to one person in a group (rule 15).

    A fixed group language wins for everything sent into the group; with `auto` (`None`), the
    person's Telegram language when the bot speaks it, else the group's language.
    """
    if setting is not None:
        return setting
    return language_of(code) or group_language(setting)


def private_language(code: str | None) -> Language:
    """Private chats always use the person's own language (else English)."""
    return language_of(code) or DEFAULT_LANGUAGE
