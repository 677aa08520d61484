"""Texts and buttons the bot shows: escaping (DESIGN §9) and the Verify button's data."""

from html.parser import HTMLParser

import attrs
import pytest

from adapters.telegram.i18n import ENGLISH as EN
from adapters.telegram.texts import (
    SETTINGS_CHOICES,
    ListData,
    PrivateSettingsData,
    VerifyData,
    channel_list_html,
    pages_keyboard,
    parse_list_data,
    parse_private_settings_data,
    parse_private_verify_data,
    parse_settings_data,
    parse_verify_data,
    private_settings_data,
    private_verify_data,
    raid_notice_html,
    raid_notice_keyboard,
    settings_data,
    settings_keyboard,
    verify_data,
    warning_html,
    warning_keyboard,
)
from application.ports.messenger import MuteWarning, RaidNotice
from domain.ids import ChannelId, GroupId, UserId
from domain.policy import GroupSettings, RequiredChannel
from domain.restriction import WarningReason
from domain.senders import Person

NASTY = "<b>Fish & Chips</b> _under_ *stars*"
PUBLIC = RequiredChannel(ChannelId(-1001), NASTY, "fish_chips")
PRIVATE = RequiredChannel(ChannelId(-1002), "Private", None, "https://t.me/+xyz")
HIDDEN = RequiredChannel(ChannelId(-1003), "No link")


class _Text(HTMLParser):
    """Collects the visible text and the tags of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def parsed(fragment: str) -> _Text:
    parser = _Text()
    parser.feed(fragment)
    return parser


def warning(reason: WarningReason = WarningReason.SPOKE) -> MuteWarning:
    member = Person(UserId(77), "Eve <script>&")
    return MuteWarning(GroupId(-100), member, (PUBLIC, PRIVATE, HIDDEN), reason)


def test_design_9_titles_and_names_are_escaped() -> None:
    text = parsed(warning_html(warning(), EN))
    assert NASTY in text.text  # shown literally, not interpreted
    assert "Eve <script>&" in text.text
    assert set(text.tags) == {"a", "b"}  # only the bot's own markup


@pytest.mark.parametrize("reason", list(WarningReason))
def test_the_warning_mentions_the_member_and_lists_every_channel(reason: WarningReason) -> None:
    html_text = warning_html(warning(reason), EN)
    assert 'href="tg://user?id=77"' in html_text
    for title in (NASTY, "Private", "No link"):
        assert title in parsed(html_text).text


def test_channel_lists_read_naturally() -> None:
    assert channel_list_html(["A"], EN) == "<b>A</b>"
    assert channel_list_html(["A", "B", "C"], EN) == "<b>A</b>, <b>B</b> and <b>C</b>"


def test_keyboard_has_a_join_button_per_reachable_channel_and_a_bound_verify() -> None:
    keyboard = warning_keyboard(warning(), EN).inline_keyboard
    urls = [row[0].url for row in keyboard[:-1]]
    assert urls == ["https://t.me/fish_chips", "https://t.me/+xyz"]
    assert keyboard[-1][0].callback_data == "verify:77"


def test_verify_data_round_trips_and_forgeries_are_refused() -> None:
    assert parse_verify_data(verify_data(UserId(123))) == VerifyData(UserId(123))
    assert parse_verify_data(verify_data(None)) == VerifyData(None)  # a merged warning
    for forged in ("verify:", "verify:-5", "verify:abc", "verify:1 OR 1", "menu:1", "1"):
        assert parse_verify_data(forged) is None
    assert parse_verify_data(verify_data(UserId(2**63 - 1))) == VerifyData(UserId(2**63 - 1))
    for odd in ("verify:²", "verify:١٢٣", "verify:0", f"verify:{2**63}", "verify:" + "9" * 20):
        assert parse_verify_data(odd) is None, odd


def test_settings_menu_data_round_trips_and_only_offered_values_parse() -> None:
    for key, values in SETTINGS_CHOICES.items():
        for value in values:
            assert parse_settings_data(settings_data(key, value)) == (key, value)
            GroupSettings().changed(key, value)  # every offered value is a valid one
    for forged in (
        "set:warning_ttl=0s",
        "set:warning_ttl=2m;kick_after=off",
        "set:owner=1",
        "set:warning_ttl",
        "set:=open",
        "verify:1",
        "failure_policy=open",
    ):
        assert parse_settings_data(forged) is None, forged


def test_settings_menu_ticks_the_current_values_and_fits_telegrams_limits() -> None:
    settings = GroupSettings().changed("failure_policy", "closed").changed("kick_after", "1d")
    rows = settings_keyboard(settings, EN).inline_keyboard
    assert len(rows) == 14  # two buttons a row; the eleven language choices three a row
    ticked = [button.text for row in rows for button in row if button.text.startswith("✓")]
    assert ticked == [
        "✓ 🌐 Each member's language",
        "✓ Check fails: mute",
        "✓ Warnings stay 2m",
        "✓ Kick muted after 1d",
        "✓ Raid at 20 joins/min",
        "✓ Leave requests to admins",
        "✓ Decline requests after 1h",
    ]
    for row in rows:
        assert len(row) <= 3
        for button in row:
            assert isinstance(button.callback_data, str)
            assert len(button.callback_data.encode()) <= 64


@pytest.mark.parametrize(
    "data",
    [
        "list:muted",
        "list:muted:",
        "list:muted:0",
        "list:muted:²",
        "list:muted:1000",
        "list:banned:1",
        "list:muted:-1",
        "list:muted:1:2",
        "lists:muted:1",
        "muted:1",
    ],
)
def test_page_button_forgeries_are_refused(data: str) -> None:
    assert parse_list_data(data) is None


def test_page_buttons_round_trip_and_a_single_page_has_none() -> None:
    keyboard = pages_keyboard("log", 2, 3, EN)
    assert keyboard is not None
    [row] = keyboard.inline_keyboard
    assert [b.text for b in row] == ["« Newer", "2/3", "Older »"]
    assert [parse_list_data(str(b.callback_data)) for b in row] == [
        ListData("log", 1),
        ListData("log", 2),
        ListData("log", 3),
    ]
    assert pages_keyboard("muted", 1, 1, EN) is None


@pytest.mark.parametrize(
    "data",
    [
        "pverify:",
        "pverify:123",
        "pverify:-",
        "pverify:-12x",
        "pverify:-²",
        "verify:-100123",
        "pverify:-99999999999999999999",
        "pverify:--100",
    ],
)
def test_private_verify_forgeries_are_refused(data: str) -> None:
    assert parse_private_verify_data(data) is None


def test_private_verify_data_names_the_group() -> None:
    group = GroupId(-1001234567890)
    assert parse_private_verify_data(private_verify_data(group)) == group


def test_rule_13_the_raid_notice_is_escaped_with_join_buttons_and_a_verify_for_anyone() -> None:
    channel = RequiredChannel(ChannelId(-1002000000001), "News <&> Co", "news_channel")
    notice = RaidNotice(GroupId(-1001000000001), (channel,), 42)
    text = raid_notice_html(notice, EN)
    assert "News &lt;&amp;&gt; Co" in text
    assert "Muted so far: 42" in text
    over = raid_notice_html(attrs.evolve(notice, over=True), EN)
    assert "The raid is over" in over
    assert "42 new members were muted" in over
    buttons = [
        b for row in raid_notice_keyboard(notice, EN, "nezuko_bot").inline_keyboard for b in row
    ]
    assert [b.url for b in buttons if b.url] == [
        "https://t.me/news_channel",
        "https://t.me/nezuko_bot?start=muted",
    ]
    [verify] = [b for b in buttons if b.callback_data]
    assert isinstance(verify.callback_data, str)
    parsed = parse_verify_data(verify.callback_data)
    assert parsed is not None
    assert parsed.owner is None  # whoever presses it, on their own status
    assert parsed.on_raid_notice
    assert parse_verify_data(verify_data(None)) == VerifyData(None)  # a merged warning's


def test_private_settings_data_round_trips_and_forgeries_are_refused() -> None:
    group = GroupId(-1001234567890)
    assert parse_private_settings_data(private_settings_data()) == PrivateSettingsData()
    assert parse_private_settings_data(private_settings_data(group)) == PrivateSettingsData(group)
    change = private_settings_data(group, "failure_policy", "closed")
    assert len(change.encode()) <= 64
    assert parse_private_settings_data(change) == PrivateSettingsData(
        group, ("failure_policy", "closed")
    )
    for forged in (
        "pset:",
        "pset:123",  # a user id, not a group
        "pset:-12x",
        f"pset:{group}:failure_policy=maybe",  # a value the menu does not offer
        f"pset:{group}:nope=1",
        "set:failure_policy=closed",
    ):
        assert parse_private_settings_data(forged) is None, forged


def test_the_private_settings_menu_names_the_group_and_the_group_menu_links_to_it() -> None:
    group = GroupId(-1001234567890)
    private = settings_keyboard(GroupSettings(), EN, group_id=group)
    data = [b.callback_data for row in private.inline_keyboard for b in row]
    assert all(isinstance(d, str) and d.startswith(f"pset:{group}") for d in data[:-1])
    assert data[-1] == "pset:list"
    in_group = settings_keyboard(GroupSettings(), EN, bot_username="nezuko_bot")
    urls = [b.url for row in in_group.inline_keyboard for b in row if b.url]
    assert urls == ["https://t.me/nezuko_bot?start=settings"]
