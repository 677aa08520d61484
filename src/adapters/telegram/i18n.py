"""The translation catalogs: gettext `.po` files read at start with Babel (no compile step).

`locales/messages.pot` is extracted from the code (`make catalogs`); each language has
`locales/<lang>/LC_MESSAGES/messages.po`. At first use a language's `.po` is read with
`babel.messages.pofile.read_po`, written as a `.mo` into memory and loaded by Python's own
`gettext.GNUTranslations`, which does the lookup and the plural choice (CLDR rules, from the
catalog's `Plural-Forms` header). A message a catalog lacks (or has fuzzy) falls back to the
English message id.

Every text takes named brace placeholders (`{member}`), filled after translation. In a
right-to-left language each filled-in value (a name, a title, a number, a list) is wrapped in
Unicode directional isolates (FSI … PDI), so a left-to-right title or mention stays intact
inside the sentence (rule 15).
"""

import functools
import gettext as gettext_module
import io
from collections.abc import Sequence
from pathlib import Path

from babel import Locale
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from domain.language import DEFAULT_LANGUAGE, Language

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
FSI = "\u2068"
"""FIRST STRONG ISOLATE: the value's own direction, isolated from the sentence around it."""
PDI = "\u2069"
"""POP DIRECTIONAL ISOLATE: closes `FSI`."""

_CLDR_LOCALE = {Language.EN: "en_GB"}
"""CLDR data per language; English lists read "A, B and C" (no serial comma)."""


def N_(message: str) -> str:  # noqa: N802 - the name `pybabel extract` looks for
    """Mark a module-level text for extraction; it is translated where it is shown."""
    return message


class Texts:
    """One language's catalog: translate, then fill the named placeholders in."""

    def __init__(self, language: Language, translations: gettext_module.NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def gettext(self, message: str, /, **values: object) -> str:
        """`message` in this language, with `values` filled in (`{name}` placeholders)."""
        return self._filled(self._translations.gettext(message), values)

    def ngettext(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        """The plural form of this language for `count`; `{count}` is filled in too."""
        text = self._translations.ngettext(singular, plural, count)
        return self._filled(text, {"count": count, **values})

    def pgettext(self, context: str, message: str, /, **values: object) -> str:
        """`message` in `context`: the same English that needs two translations."""
        return self._filled(self._translations.pgettext(context, message), values)

    def isolated(self, value: object) -> str:
        """`value` as text, isolated in a right-to-left language (unchanged otherwise)."""
        text = str(value)
        return f"{FSI}{text}{PDI}" if self.language.is_rtl else text

    def and_list(self, items: Sequence[str]) -> str:
        """`A`, `A and B`, `A, B and C` by this language's CLDR list pattern."""
        return format_list([self.isolated(item) for item in items], locale=self.cldr_locale)

    def or_list(self, items: Sequence[str]) -> str:
        """`A or B`, `A, B or C` by this language's CLDR list pattern."""
        return format_list(
            [self.isolated(item) for item in items], style="or", locale=self.cldr_locale
        )

    @property
    def cldr_locale(self) -> str:
        """The CLDR locale of the language (lists, plural rules)."""
        return _CLDR_LOCALE.get(self.language, self.language.value)

    def _filled(self, text: str, values: dict[str, object]) -> str:
        """Every message is a brace format (python-brace-format): `{{` is a literal brace."""
        return text.format(**{name: self.isolated(value) for name, value in values.items()})


def language_name(language: Language) -> str:
    """The language's name in itself, from CLDR ("español", "русский")."""
    name = Locale.parse(language.value).get_display_name(language.value) or language.value
    return name[:1].upper() + name[1:]


def po_path(language: Language) -> Path:
    """Where the language's catalog lives."""
    return LOCALES / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def texts(language: Language = DEFAULT_LANGUAGE) -> Texts:
    """The language's catalog, read once per process."""
    with po_path(language).open("rb") as po:
        catalog = read_po(po, locale=language.value, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Texts(language, gettext_module.GNUTranslations(mo))


ENGLISH = texts(DEFAULT_LANGUAGE)
