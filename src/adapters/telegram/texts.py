"""What the bot shows in Telegram: HTML texts with every title and name escaped, and keyboards.

Nothing user-facing lives in the core; use-case results are turned into words here.
"""

import html

import attrs
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.helpers import mention_html

from adapters.telegram.convert import parse_user_id
from application.ports.messenger import MuteWarning
from domain.ids import UserId
from domain.policy import GroupSettings
from domain.restriction import WarningReason

VERIFY_PREFIX = "verify:"
SETTINGS_PREFIX = "set:"
SETTINGS_CHOICES: dict[str, tuple[str, ...]] = {
    "failure_policy": ("open", "closed"),
    "warning_ttl": ("30s", "2m", "10m", "1h"),
    "kick_after": ("off", "1h", "1d", "7d"),
}
"""The values the settings menu offers, per setting (`/settings key value` takes any)."""
_SETTINGS_LABELS = {
    "failure_policy": {"open": "Check fails: let talk", "closed": "Check fails: mute"},
    "warning_ttl": "Warnings stay {}",
    "kick_after": {"off": "Never kick", "": "Kick muted after {}"},
}
"""What each menu button does: a pattern the value fills in, or a label per value (the one
under `""` for any other value)."""
_BUTTONS_PER_ROW = 2
"""Few enough for the labels to show whole on a phone."""


def settings_label(key: str, value: str) -> str:
    """The menu button's label: what choosing `value` for the setting `key` does."""
    labels = _SETTINGS_LABELS.get(key, f"{key} {{}}")
    if isinstance(labels, str):
        return labels.format(value)
    return labels.get(value, labels.get("", f"{key} {{}}")).format(value)


_WARNINGS = {
    WarningReason.JOINED: "Welcome, {member}! To talk in this group, join {channels} first.",
    WarningReason.SPOKE: "{member}, to talk in this group, join {channels} first.",
    WarningReason.LEFT_CHANNEL: "{member}, you left {channels}: join again to talk in this group.",
    WarningReason.PARTLY_JOINED: "{member}, thanks! To talk in this group, also join {channels}.",
}


def channel_list_html(titles: list[str]) -> str:
    """`A`, `A and B`, `A, B and C`, each title escaped and in bold."""
    bold = [f"<b>{html.escape(title)}</b>" for title in titles]
    return bold[0] if len(bold) == 1 else f"{', '.join(bold[:-1])} and {bold[-1]}"


_MERGED = "{members}: to talk in this group, join {channels} first."


def warning_html(warning: MuteWarning) -> str:
    """The warning text: a real mention of each muted member and every missing channel."""
    members = [mention_html(m.user_id, m.name or "member") for m in warning.members]
    channels = channel_list_html(
        [channel.title for channel in warning.channels] or ["the channels"]
    )
    if warning.is_merged:
        first = _MERGED.format(members=", ".join(members), channels=channels)
    else:
        first = _WARNINGS[warning.reason].format(member=members[0], channels=channels)
    return f"{first}\nThen press <b>Verify</b>."


def warning_keyboard(warning: MuteWarning) -> InlineKeyboardMarkup:
    """One join button per missing channel, then a Verify button bound to the muted member."""
    rows = [
        [InlineKeyboardButton(f"Join {channel.title}", url=channel.join_url)]
        for channel in warning.channels
        if channel.join_url
    ]
    owner = None if warning.is_merged else warning.member.user_id
    rows.append([InlineKeyboardButton("Verify", callback_data=verify_data(owner))])
    return InlineKeyboardMarkup(rows)


_ANYONE = "any"


@attrs.frozen
class VerifyData:
    """What a Verify button says: whom its warning addresses."""

    owner: UserId | None
    """`None` on a merged warning: it acts on whoever presses it (their own status only)."""


def verify_data(owner: UserId | None) -> str:
    """The Verify button's callback data: only whom the warning addresses (or anyone)."""
    return f"{VERIFY_PREFIX}{_ANYONE if owner is None else owner}"


def parse_verify_data(data: str) -> VerifyData | None:
    """What a Verify button's data says, or `None` if the data is not ours."""
    raw = data.removeprefix(VERIFY_PREFIX)
    if raw == data:
        return None
    if raw == _ANYONE:
        return VerifyData(None)
    owner = parse_user_id(raw)
    return None if owner is None else VerifyData(owner)


def settings_data(key: str, value: str) -> str:
    """A settings-menu button's callback data: one setting and one offered value."""
    return f"{SETTINGS_PREFIX}{key}={value}"


def parse_settings_data(data: str) -> tuple[str, str] | None:
    """The setting and value a menu button names, or `None` unless the menu offers them."""
    raw = data.removeprefix(SETTINGS_PREFIX)
    key, separator, value = raw.partition("=")
    if raw == data or not separator or value not in SETTINGS_CHOICES.get(key, ()):
        return None
    return key, value


def settings_keyboard(settings: GroupSettings) -> InlineKeyboardMarkup:
    """Each setting's offered values, two buttons a row, labelled with what they do.

    The current value is ticked.
    """
    shown = settings.shown()
    rows: list[list[InlineKeyboardButton]] = []
    for key, values in SETTINGS_CHOICES.items():
        buttons = [
            InlineKeyboardButton(
                f"{'✓ ' if shown[key] == value else ''}{settings_label(key, value)}",
                callback_data=settings_data(key, value),
            )
            for value in values
        ]
        rows += [
            buttons[i : i + _BUTTONS_PER_ROW] for i in range(0, len(buttons), _BUTTONS_PER_ROW)
        ]
    return InlineKeyboardMarkup(rows)
