"""`make catalogs`, last step: the English catalog says what the message ids say.

English is the language of the message ids; its catalog carries each id as its own translation,
so a correction to the English wording can be made in `en/LC_MESSAGES/messages.po` like any
other language's. An entry `pybabel update` marked fuzzy (its English id changed) takes the new
id.
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

EN_PO = Path("src/adapters/telegram/locales/en/LC_MESSAGES/messages.po")


def fill_english(path: Path = EN_PO) -> int:
    """Give every untranslated or fuzzy English entry its id as text; how many changed.

    A filled entry, perhaps a correction of the English, is kept.
    """
    with path.open("rb") as po:
        catalog = read_po(po, locale="en")
    changed = 0
    for message in catalog:
        if not message.id:
            continue
        if message.pluralizable:
            assert isinstance(message.id, tuple)
            wanted: str | tuple[str, ...] = tuple(message.id)
            current = tuple(message.string) if isinstance(message.string, tuple) else ()
            if all(current) and len(current) == len(wanted) and not message.fuzzy:
                continue  # filled, maybe corrected by hand: kept
        else:
            wanted = message.id  # type: ignore[assignment]
            if message.string and not message.fuzzy:
                continue  # filled, maybe corrected by hand: kept
        message.string = wanted
        message.flags.discard("fuzzy")
        changed += 1
    with path.open("wb") as po:
        write_po(po, catalog, width=76, omit_header=False, include_previous=False)
    return changed


if __name__ == "__main__":
    print(f"{EN_PO}: {fill_english()} English entries filled in", file=sys.stderr)
