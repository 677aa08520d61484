"""Rule 1, group policy changes, settings and channel references."""

from datetime import timedelta

import pytest

from domain.durations import format_duration, parse_duration
from domain.errors import (
    ChannelNotLinked,
    InvalidChannelReference,
    InvalidSetting,
    TooManyChannels,
    UnknownSetting,
)
from domain.ids import ChannelId, GroupId
from domain.policy import (
    MAX_CHANNELS,
    ChannelRef,
    FailurePolicy,
    GroupPolicy,
    GroupSettings,
    RequiredChannel,
    parse_channel_ref,
)

GROUP = GroupId(-100500)
NEWS = RequiredChannel(ChannelId(-1001), "News", "news")
TALK = RequiredChannel(ChannelId(-1002), "Talk", None, "https://t.me/+abc")


def test_rule_1_protected_needs_a_channel_and_the_enabled_flag() -> None:
    assert not GroupPolicy(GROUP).is_protected
    assert not GroupPolicy(GROUP, enabled=True).is_protected
    assert not GroupPolicy(GROUP, channels=(NEWS,)).is_protected
    assert GroupPolicy(GROUP, enabled=True, channels=(NEWS,)).is_protected


def test_linking_enables_and_keeps_order() -> None:
    policy = GroupPolicy(GROUP).linked([NEWS, TALK])
    assert policy.is_protected
    assert policy.channel_ids == (NEWS.channel_id, TALK.channel_id)


def test_linking_again_is_idempotent_and_refreshes_display_data() -> None:
    policy = GroupPolicy(GROUP).linked([NEWS, TALK])
    renamed = RequiredChannel(NEWS.channel_id, "News (new title)", "news")
    again = policy.linked([renamed, TALK])
    assert again.channel_ids == policy.channel_ids
    assert again.channels[0].title == "News (new title)"


def test_linking_again_keeps_the_invite_link_the_bot_created() -> None:
    policy = GroupPolicy(GROUP).linked([TALK])
    again = policy.linked([RequiredChannel(TALK.channel_id, "Talk", None, None)])
    assert again.channels[0].invite_link == "https://t.me/+abc"


def test_linking_more_than_the_limit_fails() -> None:
    channels = [RequiredChannel(ChannelId(-2000 - i), f"c{i}") for i in range(MAX_CHANNELS + 1)]
    with pytest.raises(TooManyChannels, match=str(MAX_CHANNELS)):
        GroupPolicy(GROUP).linked(channels)


def test_unlinking() -> None:
    policy = GroupPolicy(GROUP).linked([NEWS, TALK]).unlinked(NEWS.channel_id)
    assert policy.channel_ids == (TALK.channel_id,)
    with pytest.raises(ChannelNotLinked):
        policy.unlinked(NEWS.channel_id)


def test_rule_1_unlinking_the_last_channel_unprotects() -> None:
    assert not GroupPolicy(GROUP).linked([NEWS]).unlinked(NEWS.channel_id).is_protected


def test_disabling_keeps_channels_and_enabling_again_works() -> None:
    disabled = GroupPolicy(GROUP).linked([NEWS]).disabled()
    assert not disabled.is_protected
    assert disabled.channels == (NEWS,)
    assert disabled.linked([]).is_protected


def test_join_url_prefers_the_public_username() -> None:
    assert NEWS.join_url == "https://t.me/news"
    assert TALK.join_url == "https://t.me/+abc"
    assert RequiredChannel(ChannelId(-1), "x").join_url is None


def test_channel_lookup() -> None:
    policy = GroupPolicy(GROUP).linked([NEWS])
    assert policy.channel(NEWS.channel_id) == NEWS
    assert policy.channel(TALK.channel_id) is None


# --- settings ----------------------------------------------------------------------------------


def test_default_settings() -> None:
    settings = GroupSettings()
    assert settings.failure_policy is FailurePolicy.OPEN
    assert settings.kick_after is None
    assert settings.raid_threshold == 20
    assert settings.shown() == {
        "failure_policy": "open",
        "warning_ttl": "2m",
        "kick_after": "off",
        "raid_threshold": "20",
        "join_gate": "off",
        "join_gate_timeout": "1h",
        "language": "auto",
        "warning_text": "default",
    }


def test_rule_14_the_join_gate_settings_switch_and_bound_the_timeout() -> None:
    settings = GroupSettings().changed("join-gate", "ON").changed("join_gate_timeout", "5m")
    assert settings.join_gate is True
    assert settings.join_gate_timeout == timedelta(minutes=5)
    assert settings.changed("join_gate_timeout", "off").join_gate_timeout is None
    assert settings.changed("join_gate", "off").join_gate is False
    assert settings.changed("join_gate_timeout", "7d").shown()["join_gate_timeout"] == "7d"
    for key, value in (
        ("join_gate", "maybe"),
        ("join_gate_timeout", "4m"),
        ("join_gate_timeout", "8d"),
        ("join_gate_timeout", "soon"),
    ):
        with pytest.raises(InvalidSetting):
            settings.changed(key, value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("failure_policy", "closed", GroupSettings(failure_policy=FailurePolicy.CLOSED)),
        ("failure-policy", " OPEN ", GroupSettings(failure_policy=FailurePolicy.OPEN)),
        ("warning_ttl", "30s", GroupSettings(warning_ttl=timedelta(seconds=30))),
        ("warning_ttl", "90", GroupSettings(warning_ttl=timedelta(seconds=90))),
        ("kick_after", "2h", GroupSettings(kick_after=timedelta(hours=2))),
        ("kick_after", "off", GroupSettings()),
    ],
)
def test_changing_a_setting(key: str, value: str, expected: GroupSettings) -> None:
    assert GroupSettings().changed(key, value) == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("failure_policy", "maybe"),
        ("warning_ttl", "5"),
        ("warning_ttl", "2d"),
        ("warning_ttl", "soon"),
        ("kick_after", "10s"),
        ("kick_after", "31d"),
    ],
)
def test_invalid_values_are_refused(key: str, value: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        GroupSettings().changed(key, value)
    assert key in str(raised.value)


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(UnknownSetting, match="colour"):
        GroupSettings().changed("colour", "red")


def test_durations() -> None:
    assert parse_duration("5m") == timedelta(minutes=5)
    assert parse_duration("1D") == timedelta(days=1)
    assert parse_duration("-5") is None
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"


# --- channel references ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@news_channel", ChannelRef(username="news_channel")),
        ("news_channel", ChannelRef(username="news_channel")),
        ("t.me/news_channel", ChannelRef(username="news_channel")),
        ("https://t.me/news_channel/", ChannelRef(username="news_channel")),
        ("https://telegram.me/news_channel?start=1", ChannelRef(username="news_channel")),
        ("https://t.me/news_channel/123", ChannelRef(username="news_channel")),
        ("-1001234567890", ChannelRef(channel_id=ChannelId(-1001234567890))),
    ],
)
def test_channel_references(text: str, expected: ChannelRef) -> None:
    assert parse_channel_ref(text) == expected


@pytest.mark.parametrize(
    "text", ["12345", "-12345", "https://t.me/+AbCdEf", "t.me/joinchat/xyz", "@ab", "@1abc", ""]
)
def test_bad_channel_references(text: str) -> None:
    with pytest.raises(InvalidChannelReference):
        parse_channel_ref(text)


def test_channel_ref_shows_as_typed() -> None:
    assert str(ChannelRef(username="news")) == "@news"
    assert str(ChannelRef(channel_id=ChannelId(-1001))) == "-1001"
