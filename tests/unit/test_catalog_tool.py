"""`make catalogs`' last step fills the English catalog and keeps corrections of the English."""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from tools.catalogs import fill_english


def test_new_and_fuzzy_english_entries_take_their_id_and_corrections_are_kept(
    tmp_path: Path,
) -> None:
    catalog = Catalog(locale="en")
    catalog.add("New text")
    catalog.add("Changed {x}", "Old text {x}", flags=["fuzzy"])
    catalog.add("Join {channels} first", "Join {channels} first, please")  # a correction
    catalog.add(("{n} member", "{n} members"), ("", ""))
    path = tmp_path / "messages.po"
    with path.open("wb") as po:
        write_po(po, catalog)

    assert fill_english(path) == 3

    with path.open("rb") as po:
        filled = {str(m.id): m for m in read_po(po, locale="en") if m.id}
    assert filled["New text"].string == "New text"
    assert filled["Changed {x}"].string == "Changed {x}"
    assert not filled["Changed {x}"].fuzzy
    assert filled["Join {channels} first"].string == "Join {channels} first, please"
    assert filled["('{n} member', '{n} members')"].string == ("{n} member", "{n} members")
