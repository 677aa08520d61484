"""A group's protection: required channels, the enabled flag and the settings admins can change."""

import enum
import re
import string
from collections.abc import Iterable
from datetime import timedelta

import attrs

from domain.durations import format_duration, parse_duration
from domain.errors import (
    ChannelNotLinked,
    InvalidChannelReference,
    InvalidSetting,
    ReferenceProblem,
    SettingProblem,
    TooManyChannels,
    UnknownSetting,
)
from domain.ids import ChannelId, GroupId
from domain.language import AUTO, Language, language_of
from domain.raid import DEFAULT_THRESHOLD, THRESHOLD_RANGE, Raid

MAX_CHANNELS = 10
"""How many channels one group may require."""


class FailurePolicy(enum.StrEnum):
    """What to do when Telegram cannot say whether a member joined a channel (rule 8)."""

    OPEN = "open"
    """Let the message through and tell the admins once."""
    CLOSED = "closed"
    """Treat the member as not subscribed."""


WARNING_TTL_RANGE = (timedelta(seconds=10), timedelta(days=1))
KICK_AFTER_RANGE = (timedelta(minutes=1), timedelta(days=30))
JOIN_GATE_TIMEOUT_RANGE = (timedelta(minutes=5), timedelta(days=7))
_ON = ("on", "yes", "true", "1")
_OFF = ("off", "no", "false", "0", "never")


@attrs.frozen
class GroupSettings:
    """The knobs a group admin can turn with `/settings key value`."""

    failure_policy: FailurePolicy = FailurePolicy.OPEN
    warning_ttl: timedelta = timedelta(minutes=2)
    """How long a warning stays in the group before the bot deletes it."""
    kick_after: timedelta | None = None
    """Remove a member the bot muted who has not verified after this long; `None`: never."""
    join_gate: bool = False
    """Rule 14: approve join requests of subscribers at once, tell the others in private."""
    join_gate_timeout: timedelta | None = timedelta(hours=1)
    """How long a requester who has not joined every channel may take before the request is
    declined; `None`: left pending for the admins."""

    raid_threshold: int | None = DEFAULT_THRESHOLD
    """Joins a minute by members who have not joined every channel that start raid mode
    (rule 13); `None`: never automatically."""
    language: Language | None = None
    """Rule 15: `None` (`auto`) speaks each reader's own language; a language: everything sent
    into the group uses it."""
    warning_text: str | None = None
    """The admins' own warning (`WARNING_PLACEHOLDERS` filled in); `None`: the catalog's."""

    KEYS = (
        "failure_policy",
        "warning_ttl",
        "kick_after",
        "raid_threshold",
        "join_gate",
        "join_gate_timeout",
        "language",
        "warning_text",
    )

    def changed(self, key: str, value: str) -> "GroupSettings":  # noqa: PLR0912 - a case a key
        """These settings with `key` set from the admin's text `value`.

        Raises:
            UnknownSetting: `key` is not one of `KEYS`.
            InvalidSetting: `value` is not allowed for `key`.
        """
        normalized = key.strip().lower().replace("-", "_")
        match normalized:
            case "failure_policy":
                try:
                    policy = FailurePolicy(value.strip().lower())
                except ValueError:
                    raise InvalidSetting(
                        key, value, SettingProblem.CHOICES, choices=tuple(FailurePolicy)
                    ) from None
                return attrs.evolve(self, failure_policy=policy)
            case "warning_ttl":
                return attrs.evolve(self, warning_ttl=_bounded(key, value, WARNING_TTL_RANGE))
            case "kick_after":
                if value.strip().lower() in ("off", "never", "0"):
                    return attrs.evolve(self, kick_after=None)
                return attrs.evolve(self, kick_after=_bounded(key, value, KICK_AFTER_RANGE))
            case "join_gate":
                switch = value.strip().lower()
                if switch not in _ON + _OFF:
                    raise InvalidSetting(key, value, SettingProblem.CHOICES, choices=("on", "off"))
                return attrs.evolve(self, join_gate=switch in _ON)
            case "join_gate_timeout":
                if value.strip().lower() in _OFF:
                    return attrs.evolve(self, join_gate_timeout=None)
                timeout = _bounded(key, value, JOIN_GATE_TIMEOUT_RANGE)
                return attrs.evolve(self, join_gate_timeout=timeout)
            case "raid_threshold":
                return attrs.evolve(self, raid_threshold=_threshold(key, value))
            case "language":
                return attrs.evolve(self, language=_language(key, value))
            case "warning_text":
                return attrs.evolve(self, warning_text=warning_text(key, value))
            case _:
                raise UnknownSetting(key, self.KEYS)

    def shown(self) -> dict[str, str]:
        """Every setting as text, in `KEYS` order."""
        return {
            "failure_policy": self.failure_policy.value,
            "warning_ttl": format_duration(self.warning_ttl),
            "kick_after": "off" if self.kick_after is None else format_duration(self.kick_after),
            "raid_threshold": "off" if self.raid_threshold is None else str(self.raid_threshold),
            "join_gate": "on" if self.join_gate else "off",
            "join_gate_timeout": "off"
            if self.join_gate_timeout is None
            else format_duration(self.join_gate_timeout),
            "language": AUTO if self.language is None else self.language.value,
            "warning_text": "default" if self.warning_text is None else self.warning_text,
        }


LANGUAGE_CHOICES = (AUTO, *(language.value for language in Language))
"""What `/settings language` takes."""
WARNING_PLACEHOLDERS = ("member", "channels", "group")
"""What a custom warning may name; `{member}` it must (the warning tells whom it mutes)."""
REQUIRED_PLACEHOLDER = "member"
WARNING_TEXT_LIMIT = 4096
"""Telegram's limit on a message's text, counted after the HTML is parsed."""
WARNING_RESERVE = 200
"""Room kept for the line the bot adds under the admins' text ("Then press Verify.")."""
_LONGEST_VALUE = {
    "member": 129,  # a first name and a last name of 64 characters each
    "channels": MAX_CHANNELS * (128 + 8),  # each title at most 128, and the separators
    "group": 128,
}
"""The longest text each placeholder can stand for (Telegram's limits on names and titles)."""


def _language(key: str, value: str) -> Language | None:
    text = value.strip()
    if text.lower() == AUTO:
        return None
    language = language_of(text)
    if language is None or len(text) > 8:
        raise InvalidSetting(key, value, SettingProblem.CHOICES, choices=LANGUAGE_CHOICES)
    return language


def warning_text(key: str, value: str) -> str | None:
    """The admins' warning as typed, checked: `default` (or nothing) restores the catalog's.

    Raises:
        InvalidSetting: a lone brace, a placeholder the bot does not fill (or one written with
            a format spec, a conversion or an attribute), no `{member}`, or a text that with
            the longest names and titles would be over Telegram's limit.
    """
    text = value.strip()
    if not text or text.lower() == "default":
        return None
    try:
        parts = [(f, spec, conv) for _, f, spec, conv in _FORMATTER.parse(text) if f is not None]
    except ValueError:
        raise InvalidSetting(key, value, SettingProblem.MALFORMED) from None
    for field, spec, conversion in parts:
        if field not in WARNING_PLACEHOLDERS or spec or conversion:
            written = "".join(
                [
                    "{",
                    field,
                    f"!{conversion}" if conversion else "",
                    f":{spec}" if spec else "",
                    "}",
                ]
            )
            raise InvalidSetting(key, value, SettingProblem.UNKNOWN_PLACEHOLDER, detail=written)
    fields = {field for field, _, _ in parts}
    if REQUIRED_PLACEHOLDER not in fields:
        raise InvalidSetting(
            key, value, SettingProblem.MISSING_PLACEHOLDER, detail=f"{{{REQUIRED_PLACEHOLDER}}}"
        )
    longest = text.format(**{name: "x" * size for name, size in _LONGEST_VALUE.items()})
    if len(longest) > WARNING_TEXT_LIMIT - WARNING_RESERVE:
        limit = str(WARNING_TEXT_LIMIT - WARNING_RESERVE - (len(longest) - len(text)))
        raise InvalidSetting(key, value, SettingProblem.TOO_LONG, high=limit)
    return text


_FORMATTER = string.Formatter()


def _threshold(key: str, value: str) -> int | None:
    text = value.strip().lower()
    if text in ("off", "never", "0"):
        return None
    low, high = THRESHOLD_RANGE
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or not low <= int(text) <= high:
        raise InvalidSetting(key, value, SettingProblem.THRESHOLD, low=str(low), high=str(high))
    return int(text)


def _bounded(key: str, value: str, bounds: tuple[timedelta, timedelta]) -> timedelta:
    duration = parse_duration(value)
    if duration is None:
        raise InvalidSetting(key, value, SettingProblem.NOT_A_DURATION)
    low, high = bounds
    if not low <= duration <= high:
        raise InvalidSetting(
            key,
            value,
            SettingProblem.OUT_OF_RANGE,
            low=format_duration(low),
            high=format_duration(high),
        )
    return duration


@attrs.frozen
class RequiredChannel:
    """A channel a group requires, with the display data this group shows for it."""

    channel_id: ChannelId
    title: str
    username: str | None = None
    invite_link: str | None = None
    """A link the bot created for this group and channel; used when there is no public username."""

    @property
    def join_url(self) -> str | None:
        """Where a member goes to join: the public username, else the group's invite link."""
        if self.username:
            return f"https://t.me/{self.username}"
        return self.invite_link


@attrs.frozen
class LogChannel:
    """Where the group's audit events are posted as they happen (`/setlog`)."""

    channel_id: ChannelId
    title: str


@attrs.frozen
class GroupPolicy:
    """Everything that decides whether and how a group is protected (rule 1)."""

    group_id: GroupId
    title: str = ""
    enabled: bool = False
    channels: tuple[RequiredChannel, ...] = ()
    settings: GroupSettings = GroupSettings()
    log_channel: LogChannel | None = None
    raid: Raid | None = None
    """The raid going on (or ending) in the group, if any (rule 13); saved on its own."""

    @property
    def raid_on(self) -> bool:
        """Rule 13: a raid is going on, so newcomers who must be muted are muted silently."""
        return self.raid is not None and self.raid.active

    @property
    def is_protected(self) -> bool:
        """Rule 1: enabled, with at least one required channel."""
        return self.enabled and bool(self.channels)

    @property
    def channel_ids(self) -> tuple[ChannelId, ...]:
        """The required channels' ids, in linking order."""
        return tuple(channel.channel_id for channel in self.channels)

    def channel(self, channel_id: ChannelId) -> RequiredChannel | None:
        """The required channel with this id, if linked."""
        return next((c for c in self.channels if c.channel_id == channel_id), None)

    def channels_of(self, ids: Iterable[ChannelId]) -> tuple[RequiredChannel, ...]:
        """The linked channels with these ids, with their display data, in the given order."""
        found = (self.channel(channel_id) for channel_id in ids)
        return tuple(channel for channel in found if channel is not None)

    def linked(self, channels: Iterable[RequiredChannel]) -> "GroupPolicy":
        """Link these channels (refreshing display data of ones already linked) and enable.

        Idempotent: linking what is already linked changes nothing but the display data. An
        invite link already stored for a channel is kept when the new data carries none.

        Raises:
            TooManyChannels: the group would require more than `MAX_CHANNELS` channels.
        """
        merged = {channel.channel_id: channel for channel in self.channels}
        for fresh in channels:
            merged[fresh.channel_id] = _with_kept_link(fresh, merged.get(fresh.channel_id))
        if len(merged) > MAX_CHANNELS:
            raise TooManyChannels(MAX_CHANNELS)
        return attrs.evolve(self, channels=tuple(merged.values()), enabled=True)

    def unlinked(self, channel_id: ChannelId) -> "GroupPolicy":
        """Stop requiring one channel.

        Raises:
            ChannelNotLinked: the channel is not required here.
        """
        if self.channel(channel_id) is None:
            raise ChannelNotLinked(str(channel_id))
        remaining = tuple(c for c in self.channels if c.channel_id != channel_id)
        return attrs.evolve(self, channels=remaining)

    def disabled(self) -> "GroupPolicy":
        """Protection switched off; the channels stay linked so enabling again is one command."""
        return attrs.evolve(self, enabled=False)

    def with_settings(self, settings: GroupSettings) -> "GroupPolicy":
        """The same policy with other settings."""
        return attrs.evolve(self, settings=settings)

    def logging_to(self, channel: LogChannel | None) -> "GroupPolicy":
        """The same policy posting its audit events to `channel` (`None`: nowhere)."""
        return attrs.evolve(self, log_channel=channel)


def _with_kept_link(fresh: RequiredChannel, previous: RequiredChannel | None) -> RequiredChannel:
    if previous is None or fresh.invite_link is not None:
        return fresh
    return attrs.evolve(fresh, invite_link=previous.invite_link)


_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?P<rest>.+)$", re.IGNORECASE)


@attrs.frozen
class ChannelRef:
    """A channel as an admin named it: by public username or by numeric id."""

    username: str | None = None
    channel_id: ChannelId | None = None

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else str(self.channel_id)


def parse_channel_ref(text: str) -> ChannelRef:
    """Read `@name`, `name`, `t.me/name`, `https://t.me/name` or a `-100…` id.

    Raises:
        InvalidChannelReference: the text names no channel the Bot API could look up.
    """
    raw = text.strip()
    if re.fullmatch(r"-100\d{5,}", raw):
        return ChannelRef(channel_id=ChannelId(int(raw)))
    if re.fullmatch(r"-?\d+", raw):
        raise InvalidChannelReference(text, ReferenceProblem.NOT_A_CHANNEL_ID)
    link = _LINK.match(raw)
    if link is not None:
        raw = link.group("rest").split("?")[0].rstrip("/")
        if raw.startswith(("+", "joinchat/")):
            raise InvalidChannelReference(text, ReferenceProblem.INVITE_LINK)
        if "/" in raw:  # t.me/name/123 points at a post of the channel
            raw = raw.split("/")[0]
    name = raw.removeprefix("@")
    if not _USERNAME.fullmatch(name):
        raise InvalidChannelReference(text, ReferenceProblem.NOT_A_USERNAME)
    return ChannelRef(username=name)
