"""What the bot shows in Telegram: HTML texts with every title and name escaped, and keyboards.

Nothing user-facing lives in the core; use-case results are turned into words here.
"""

import html
from collections.abc import Iterable, Sequence

import attrs
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.helpers import mention_html

from adapters.telegram.convert import parse_user_id
from adapters.telegram.i18n import N_, Texts, language_name
from application.ports.messenger import (
    GateInvitation,
    GateNote,
    GateOutcome,
    MuteWarning,
    RaidNotice,
)
from application.use_cases.list_configurable_groups import ConfigurableGroup
from application.use_cases.show_my_mutes import MutedHere
from domain.durations import format_duration
from domain.ids import GroupId, UserId
from domain.language import AUTO, language_of
from domain.policy import LANGUAGE_CHOICES, GroupSettings, RequiredChannel
from domain.restriction import WarningReason

VERIFY_PREFIX = "verify:"
SETTINGS_PREFIX = "set:"
LIST_PREFIX = "list:"
PRIVATE_VERIFY_PREFIX = "pverify:"
"""A Verify button in the private chat: it names the group (rule 12)."""
GATE_VERIFY_PREFIX = "gverify:"
"""The Verify button of the join gate's private message: it names the group (rule 14)."""
PRIVATE_SETTINGS_PREFIX = "pset:"
"""The settings menu in a private chat: its buttons name the group (issue 11 point 7)."""
SETTINGS_START = "settings"
"""The `/start` payload of the group menu's link to the private settings."""
MUTED_START = "muted"
"""The `/start` payload of the warning's deep link into the private chat."""
LISTS = ("muted", "exempted", "log")
"""The admin lists that page with buttons (`/muted`, `/exempted`, `/log`)."""
MAX_PAGE = 999
SETTINGS_CHOICES: dict[str, tuple[str, ...]] = {
    "language": LANGUAGE_CHOICES,
    "failure_policy": ("open", "closed"),
    "warning_ttl": ("30s", "2m", "10m", "1h"),
    "kick_after": ("off", "1h", "1d", "7d"),
    "raid_threshold": ("off", "10", "20", "50"),
    "join_gate": ("on", "off"),
    "join_gate_timeout": ("off", "10m", "1h", "1d"),
}
"""The values the settings menu offers, per setting (`/settings key value` takes any)."""
_SETTINGS_LABELS = {
    "failure_policy": {"open": N_("Check fails: let talk"), "closed": N_("Check fails: mute")},
    "warning_ttl": N_("Warnings stay {value}"),
    "kick_after": {"off": N_("Never kick"), "": N_("Kick muted after {value}")},
    "raid_threshold": {"off": N_("Raid mode: by hand"), "": N_("Raid at {value} joins/min")},
    "join_gate": {"on": N_("Gate join requests"), "off": N_("Leave requests to admins")},
    "join_gate_timeout": {
        "off": N_("Requests wait for admins"),
        "": N_("Decline requests after {value}"),
    },
    "language": {"auto": N_("🌐 Each member's language")},
}
"""What each menu button does: a pattern the value fills in, or a label per value (the one
under `""` for any other value)."""
_BUTTONS_PER_ROW = 2
"""Few enough for the labels to show whole on a phone."""
_ROW_WIDTH = {"language": 3}
"""Language names are short: three a row keeps the menu from growing six rows."""


def settings_label(key: str, value: str, t: Texts) -> str:
    """The menu button's label: what choosing `value` for the setting `key` does."""
    if key == "language" and value != AUTO:
        language = language_of(value)
        return f"🌐 {language_name(language) if language is not None else value}"
    labels = _SETTINGS_LABELS.get(key)
    if labels is None:
        return f"{key} {value}"
    if isinstance(labels, str):
        return t.gettext(labels, value=value)
    label = labels.get(value, labels.get(""))
    return f"{key} {value}" if label is None else t.gettext(label, value=value)


_WARNINGS = {
    WarningReason.JOINED: N_("Welcome, {member}! To talk in this group, join {channels} first."),
    WarningReason.SPOKE: N_("{member}, to talk in this group, join {channels} first."),
    WarningReason.LEFT_CHANNEL: N_(
        "{member}, you left {channels}: join again to talk in this group."
    ),
    WarningReason.PARTLY_JOINED: N_(
        "{member}, thanks! To talk in this group, also join {channels}."
    ),
}


def channel_list_html(titles: list[str], t: Texts) -> str:
    """`A`, `A and B`, `A, B and C` (the language's own list), each title escaped, in bold."""
    return t.and_list([f"<b>{html.escape(title)}</b>" for title in titles])


def channels_html(channels: Iterable[RequiredChannel], t: Texts) -> str:
    """The channels' titles as `channel_list_html`; "the channels" when none is known."""
    titles = [channel.title for channel in channels]
    return channel_list_html(titles or [t.gettext("the channels")], t)


def warning_html(warning: MuteWarning, t: Texts) -> str:
    """The warning text: a real mention of each muted member and every missing channel."""
    members = [mention_html(m.user_id, m.name or t.gettext("member")) for m in warning.members]
    channels = channels_html(warning.channels, t)
    if warning.custom_text is not None and not warning.is_merged:
        first = custom_warning_html(
            warning.custom_text, members[0], channels, warning.group_title, t
        )
    elif warning.is_merged:
        first = t.gettext(
            "{members}: to talk in this group, join {channels} first.",
            members=", ".join(map(t.isolated, members)),
            channels=channels,
        )
    else:
        first = t.gettext(_WARNINGS[warning.reason], member=members[0], channels=channels)
    return f"{first}\n{t.gettext('Then press <b>Verify</b>.')}"


def custom_warning_html(text: str, member: str, channels: str, group: str, t: Texts) -> str:
    """The admins' own warning, their words escaped like any title (DESIGN §1).

    The placeholders are filled with the mention, the channel list and the group's escaped
    title. Checked when it was saved (`domain.policy.warning_text`): only `{member}`, `{channels}`
    and `{group}`, braces paired.
    """
    return html.escape(text, quote=False).format(
        member=t.isolated(member),
        channels=t.isolated(channels),
        group=t.isolated(group_html(group, t)),
    )


def join_rows(channels: Iterable[RequiredChannel], t: Texts) -> list[list[InlineKeyboardButton]]:
    """A "Join …" button row per channel that has a link to join it."""
    return [
        [
            InlineKeyboardButton(
                t.gettext("Join {channel}", channel=channel.title), url=channel.join_url
            )
        ]
        for channel in channels
        if channel.join_url
    ]


def warning_keyboard(
    warning: MuteWarning, t: Texts, bot_username: str | None = None
) -> InlineKeyboardMarkup:
    """The warning's buttons: one per missing channel, Verify, and the way to the bot.

    Verify is bound to the muted member (or anyone, on a merged warning); the last button opens
    the private chat with the bot (rule 12), where a muted member can always learn why and what
    to do, long after the warning is gone.
    """
    rows = join_rows(warning.channels, t)
    owner = None if warning.is_merged else warning.member.user_id
    rows.append([InlineKeyboardButton(t.gettext("Verify"), callback_data=verify_data(owner))])
    if bot_username:
        help_url = f"https://t.me/{bot_username}?start={MUTED_START}"
        rows.append([InlineKeyboardButton(t.gettext("Why am I muted?"), url=help_url)])
    return InlineKeyboardMarkup(rows)


_ANYONE = "any"
_RAID = "raid"


@attrs.frozen
class VerifyData:
    """What a Verify button says: whom its warning addresses."""

    owner: UserId | None
    """`None` on a merged warning: it acts on whoever presses it (their own status only)."""
    on_raid_notice: bool = False
    """The button is the raid notice's (rule 13): anyone's, and the notice is never a stale
    warning to delete."""


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
    if raw == _RAID:
        return VerifyData(None, on_raid_notice=True)
    owner = parse_user_id(raw)
    return None if owner is None else VerifyData(owner)


def raid_notice_html(notice: RaidNotice, t: Texts) -> str:
    """The group's one notice during a raid (rule 13), and once it is over."""
    channels = channels_html(notice.channels, t)
    if notice.over:
        return t.ngettext(
            "✅ <b>The raid is over.</b> {count} new member was muted during it.\n"
            "Muted? Join {channels}, then press <b>Verify</b>.",
            "✅ <b>The raid is over.</b> {count} new members were muted during it.\n"
            "Muted? Join {channels}, then press <b>Verify</b>.",
            notice.muted,
            channels=channels,
        )
    return t.gettext(
        "🚨 <b>Raid mode is on.</b> New members are muted until they join {channels}.\n"
        "Muted so far: {count}. Joined? Press <b>Verify</b>.",
        channels=channels,
        count=notice.muted,
    )


def raid_notice_keyboard(
    notice: RaidNotice, t: Texts, bot_username: str | None = None
) -> InlineKeyboardMarkup:
    """The raid notice's buttons: join buttons, a Verify for anyone, the private chat's link.

    Verify acts on whoever presses it (their own status only); the last button opens the
    private chat with the bot (rule 12).
    """
    rows = join_rows(notice.channels, t)
    verify = InlineKeyboardButton(t.gettext("Verify"), callback_data=f"{VERIFY_PREFIX}{_RAID}")
    rows.append([verify])
    if bot_username:
        help_url = f"https://t.me/{bot_username}?start={MUTED_START}"
        rows.append([InlineKeyboardButton(t.gettext("Why am I muted?"), url=help_url)])
    return InlineKeyboardMarkup(rows)


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


def settings_keyboard(
    settings: GroupSettings,
    t: Texts,
    *,
    group_id: GroupId | None = None,
    bot_username: str | None = None,
) -> InlineKeyboardMarkup:
    """Each setting's offered values, two buttons a row, labelled with what they do.

    The current value is ticked. In a private chat (`group_id` given) the buttons name the
    group, and one goes back to the list of groups; in the group, `bot_username` adds a link
    to the same menu in a private chat.
    """
    shown = settings.shown()
    rows: list[list[InlineKeyboardButton]] = []
    for key, values in SETTINGS_CHOICES.items():
        buttons = [
            InlineKeyboardButton(
                f"{'✓ ' if shown[key] == value else ''}{settings_label(key, value, t)}",
                callback_data=(
                    settings_data(key, value)
                    if group_id is None
                    else private_settings_data(group_id, key, value)
                ),
            )
            for value in values
        ]
        width = _ROW_WIDTH.get(key, _BUTTONS_PER_ROW)
        rows += [buttons[i : i + width] for i in range(0, len(buttons), width)]
    if group_id is not None:
        back = InlineKeyboardButton(
            t.gettext("« My groups"), callback_data=private_settings_data()
        )
        rows.append([back])
    elif bot_username:
        url = f"https://t.me/{bot_username}?start={SETTINGS_START}"
        rows.append([InlineKeyboardButton(t.gettext("⚙️ Settings in a private chat"), url=url)])
    return InlineKeyboardMarkup(rows)


@attrs.frozen
class PrivateSettingsData:
    """A private settings button: the list of groups, a group's menu, or a change there."""

    group_id: GroupId | None = None
    """`None`: the list of groups."""
    change: tuple[str, str] | None = None


def private_settings_data(
    group_id: GroupId | None = None, key: str | None = None, value: str | None = None
) -> str:
    """A private settings button's callback data (at most 64 bytes, as Telegram allows)."""
    if group_id is None:
        return f"{PRIVATE_SETTINGS_PREFIX}list"
    menu = f"{PRIVATE_SETTINGS_PREFIX}{group_id}"
    return menu if key is None else f"{menu}:{key}={value}"


def parse_private_settings_data(data: str) -> PrivateSettingsData | None:
    """What a private settings button asks for, or `None` if the data is not ours.

    The group id is whatever the press carries: the use cases ask Telegram whether the presser
    administers that group before showing or changing anything (DESIGN §3).
    """
    raw = data.removeprefix(PRIVATE_SETTINGS_PREFIX)
    if raw == data:
        return None
    if raw == "list":
        return PrivateSettingsData()
    group_text, separator, rest = raw.partition(":")
    group_id = _group_id(group_text)
    if group_id is None:
        return None
    if not separator:
        return PrivateSettingsData(group_id)
    change = parse_settings_data(f"{SETTINGS_PREFIX}{rest}")
    return PrivateSettingsData(group_id, change) if change is not None else None


def configurable_groups_keyboard(groups: Sequence[ConfigurableGroup]) -> InlineKeyboardMarkup:
    """One button per group the caller administers, opening its settings menu."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    group.title[:60], callback_data=private_settings_data(group.group_id)
                )
            ]
            for group in groups
        ]
    )


@attrs.frozen
class ListData:
    """What a list's page button says: which list, which page."""

    name: str
    page: int


def list_data(name: str, page: int) -> str:
    """A page button's callback data."""
    return f"{LIST_PREFIX}{name}:{page}"


def parse_list_data(data: str) -> ListData | None:
    """The list and page a page button names, or `None` if the data is not ours."""
    raw = data.removeprefix(LIST_PREFIX)
    name, separator, page = raw.partition(":")
    if raw == data or not separator or name not in LISTS:
        return None
    if not (page.isascii() and page.isdigit() and 1 <= len(page) <= 3) or int(page) < 1:
        return None
    return ListData(name, int(page))


def pages_keyboard(name: str, number: int, pages: int, t: Texts) -> InlineKeyboardMarkup | None:
    """« and » buttons to the neighbouring pages of a list, or none for a single page."""
    if pages <= 1:
        return None
    row: list[InlineKeyboardButton] = []
    if number > 1:
        row.append(
            InlineKeyboardButton(
                t.gettext("« Newer") if name == "log" else t.gettext("« Previous"),
                callback_data=list_data(name, number - 1),
            )
        )
    row.append(InlineKeyboardButton(f"{number}/{pages}", callback_data=list_data(name, number)))
    if number < pages:
        row.append(
            InlineKeyboardButton(
                t.gettext("Older »") if name == "log" else t.gettext("Next »"),
                callback_data=list_data(name, number + 1),
            )
        )
    return InlineKeyboardMarkup([row])


def group_html(title: str, t: Texts) -> str:
    """A group's title escaped, or "the group" when Telegram gave none."""
    return html.escape(title) if title else t.gettext("the group")


def gate_invitation_html(invitation: GateInvitation, t: Texts) -> str:
    """The join gate's private message: what to join before the request is approved."""
    group = group_html(invitation.group_title, t)
    channels = channels_html(invitation.channels, t)
    if invitation.timeout is None:
        then = t.gettext("Then press <b>Verify</b> and I will let you in.")
    else:
        then = t.gettext(
            "Then press <b>Verify</b> and I will let you in. Your request is declined if you "
            "have not joined within {duration}.",
            duration=format_duration(invitation.timeout),
        )
    asked = t.gettext(
        "You asked to join <b>{group}</b>. To get in, join {channels} first.",
        group=group,
        channels=channels,
    )
    return f"{asked}\n{then}"


def gate_invitation_keyboard(invitation: GateInvitation, t: Texts) -> InlineKeyboardMarkup:
    """A join button per missing channel, then Verify for the group."""
    rows = join_rows(invitation.channels, t)
    verify = gate_verify_data(invitation.group_id)
    rows.append([InlineKeyboardButton(t.gettext("Verify"), callback_data=verify)])
    return InlineKeyboardMarkup(rows)


def gate_note_html(note: GateNote, t: Texts) -> str:
    """What the gate's private message becomes once the request has ended."""
    group = group_html(note.group_title, t)
    if note.outcome is GateOutcome.APPROVED:
        return t.gettext("✅ You are in: welcome to <b>{group}</b>!", group=group)
    return t.gettext(
        "Your request to join <b>{group}</b> was declined: the channels were not joined in "
        "time. Join them and ask again whenever you like.",
        group=group,
    )


def gate_verify_data(group_id: GroupId) -> str:
    """The gate's Verify button's callback data: the group the request is for."""
    return f"{GATE_VERIFY_PREFIX}{group_id}"


def parse_gate_verify_data(data: str) -> GroupId | None:
    """The group a gate Verify button names, or `None` if the data is not ours.

    A forged id acts only on the presser's own request to that group, if there is one.
    """
    return _group_after(data, GATE_VERIFY_PREFIX)


def private_verify_data(group_id: GroupId) -> str:
    """A private-chat Verify button's callback data: the group it verifies in."""
    return f"{PRIVATE_VERIFY_PREFIX}{group_id}"


def parse_private_verify_data(data: str) -> GroupId | None:
    """The group a private-chat Verify button names, or `None` if the data is not ours.

    The id is typed by whoever crafted the press; the Verify acts only on the presser's own
    restriction in that group, so a forged id changes nothing for anyone else.
    """
    return _group_after(data, PRIVATE_VERIFY_PREFIX)


def _group_after(data: str, prefix: str) -> GroupId | None:
    """The negative group id after `prefix`, or `None` if `data` is anything else."""
    raw = data.removeprefix(prefix)
    return None if raw == data else _group_id(raw)


def _group_id(text: str) -> GroupId | None:
    """A group id as carried in button data: negative, within 64 bits; else `None`."""
    if not text.startswith("-") or not text[1:].isascii() or not text[1:].isdigit():
        return None
    group_id = int(text)
    return GroupId(group_id) if -(2**63) <= group_id < 0 else None


def my_mutes_html(muted: Sequence[MutedHere], t: Texts) -> str:
    """The private chat's answer to a muted member: every group, and what to join there."""
    lines = [t.gettext("You are muted by me in:")]
    for here in muted:
        lines.append(
            t.gettext(
                "• <b>{group}</b>: join {channels}",
                group=html.escape(here.policy.title),
                channels=channels_html(here.missing, t),
            )
        )
    lines.append(t.gettext("Join them, then press <b>Verify</b> for that group."))
    return "\n".join(lines)


def my_mutes_keyboard(muted: Sequence[MutedHere], t: Texts) -> InlineKeyboardMarkup:
    """Per group: a join button per missing channel, then its Verify."""
    rows: list[list[InlineKeyboardButton]] = []
    for here in muted:
        rows += join_rows(here.missing, t)
        label = t.gettext("Verify in {group}", group=here.policy.title[:40])
        verify = private_verify_data(here.policy.group_id)
        rows.append([InlineKeyboardButton(label, callback_data=verify)])
    return InlineKeyboardMarkup(rows)
