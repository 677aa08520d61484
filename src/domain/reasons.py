"""Why the bot did what it did: the reasons of the audit trail (rule 9), as templates (rule 15).

A reason is recorded in English, `TEMPLATE.format(...)` (the `audit` table's `reason` column,
the operators' logs), exactly as the trail has always stored it, so rows written before the
templates existed read the same. Where a reason is shown to a person (`/log`, the log
channel), `recognize` finds the template it was made from and the values filled in (as text),
and the Telegram adapter shows the template's translation in the reader's language with those
values. A reason that matches no template (free text of older versions) is shown as recorded.

Every template marked `N_` is a message of the catalogs (`make catalogs` extracts it; the
domain imports no gettext). Placeholders are named; their values are data (channel ids, a
duration, Telegram's own error text, a setting's name), never English to translate. The few
templates not marked are data themselves: what an admin typed (`SETTING`, `LOG_CHANNEL`),
channel ids (`CHANNELS`) and a command (`RAID_ON`).
"""

import re
import string
from collections.abc import Iterable, Mapping

from domain.ids import ChannelId
from domain.restriction import WarningReason

_TRANSLATED: list[str] = []


def N_(template: str) -> str:  # noqa: N802 - the name `pybabel extract` looks for
    """Mark a reason template for extraction; it is recognized and translated where shown."""
    _TRANSLATED.append(template)
    return template


def channel_list(channel_ids: Iterable[ChannelId]) -> str:
    """The `{channels}` of a reason: the channels' ids, comma-separated."""
    return ", ".join(str(c) for c in channel_ids)


# --- mutes (the member's warning reason, or a mute Telegram took late) ------------------------

MUTED_FOR: Mapping[WarningReason, str] = {
    # TRANSLATORS: why a member was muted: they joined the group; {channels} are channel ids
    WarningReason.JOINED: N_("joined; missing {channels}"),
    # TRANSLATORS: why a member was muted: they wrote in the group
    WarningReason.SPOKE: N_("spoke; missing {channels}"),
    # TRANSLATORS: why a member was muted: they left a required channel
    WarningReason.LEFT_CHANNEL: N_("left_channel; missing {channels}"),
    # TRANSLATORS: why a member was muted: they joined some of the channels, not all
    WarningReason.PARTLY_JOINED: N_("partly_joined; missing {channels}"),
}
# TRANSLATORS: a mute Telegram applied later than asked (it was busy)
MUTE_DEFERRED = N_("deferred; missing {channels}")

# --- mutes ending ---------------------------------------------------------------------------

JOINED_EVERY_CHANNEL = N_("joined every channel")
VERIFIED = N_("verified")
PROTECTION_RELAXED = N_("protection relaxed")
LIFTED_BY_ADMIN = N_("lifted by an admin")
TAKEN_OVER_BY_ADMIN = N_("taken over by an admin who restricted them")
NOT_VERIFIED_AFTER = N_("not verified after {duration}")

# --- deleted messages -------------------------------------------------------------------------

RESTRICTED_BY_ADMIN = N_("restricted by an admin, not by the bot")
SENT_BEFORE_MUTE = N_("sent before the mute took effect")
SENT_FOR_ANOTHER_CHAT = N_("sent on behalf of another chat")

# --- the join gate (rule 14) --------------------------------------------------------------------

# TRANSLATORS: a join request approved because the requester is exempt
EXEMPT = N_("exempt")
# TRANSLATORS: a join request approved on a later try (Telegram was busy)
RETRIED = N_("retried")
HELD_BY_GATE = N_("held by the join gate; missing {channels}")
NOT_JOINED_IN_TIME = N_("not joined in time; missing {channels}")
APPROVAL_DEFERRED = N_("approving the join request deferred: {error}")
APPROVAL_REFUSED = N_("approving the join request refused: {error}")
INVITATION_FAILED_UNTIL_TIMEOUT = N_(
    "private message to the requester failed ({error}): pending until the timeout"
)
INVITATION_FAILED_UNTIL_ADMINS = N_(
    "private message to the requester failed ({error}): pending until an admin decides"
)

# --- Telegram refusing or putting off what the bot does -----------------------------------------

# TRANSLATORS: {error} is Telegram's own error text, in English
WARN_REFUSED = N_("warn: {error}")
RESTRICT_REFUSED = N_("restrict: {error}")
# TRANSLATORS: {seconds} is a number of seconds
RESTRICT_DEFERRED = N_("restrict deferred {seconds} s: {error}")
# TRANSLATORS: {action} is the name of one of the bot's actions, such as kick_unverified
ACTION_DEFERRED = N_("{action} deferred {seconds} s: {error}")
ACTION_REFUSED = N_("{action} refused after {attempts} attempts: {error}")
LOG_CHANNEL_REFUSED = N_("log channel {channel} refused: {error}; posting switched off")
# TRANSLATORS: {notice} is the name of a notice, such as checks_failing
NOTICE_REFUSED = N_("notice {notice} refused: {error}")
# TRANSLATORS: a channel could not be checked; {policy} is the setting's value (open or closed)
CHECK_FAILED = N_("failure policy {policy}")

# --- raids (rule 13) ----------------------------------------------------------------------------

# TRANSLATORS: why raid mode began; {count} is at least 2
RAID_BY_RATE = N_("{count} joins in a minute")
RAID_ON = "/raid on"
# TRANSLATORS: raid mode ended; {count} members were muted during it (may be 0 or 1)
RAID_ENDED = N_("{count} muted")
RAID_ENDED_BY_ADMIN = N_("{count} muted (/raid off)")

# --- admins and the bot's status ----------------------------------------------------------------

# TRANSLATORS: protection turned off; {count} mutes are being lifted (may be 0 or 1)
LIFTING = N_("lifting {count}")
CHANNELS = "{channels}"
SETTING = "{key}={value}"
LOG_CHANNEL = "{title} ({channel})"
BOT_LEFT = N_("the bot left or was removed")
# TRANSLATORS: {status} is Telegram's name of the bot's status: administrator, member, …
BOT_STATUS = N_("the bot is now {status}")
BOT_NO_LONGER_CHANNEL_ADMIN = N_("the bot is no longer an admin of {channel}")

TEMPLATES: tuple[str, ...] = tuple(_TRANSLATED)
"""Every translated template, in the order written."""


def _pattern(template: str) -> re.Pattern[str]:
    """A regex that matches what `template.format(...)` gives, capturing each value as text."""
    parts: list[str] = []
    seen: set[str] = set()
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>.*?)")
        seen.add(field)
    return re.compile("".join(parts), re.DOTALL)


def _literal_length(template: str) -> int:
    return sum(len(literal) for literal, *_ in string.Formatter().parse(template))


_PATTERNS = tuple(
    (template, _pattern(template))
    for template in sorted(TEMPLATES, key=_literal_length, reverse=True)
)
"""Most specific first: `restrict deferred …` before `{action} deferred …`."""


def recognize(reason: str) -> tuple[str, dict[str, str]] | None:
    """The translated template `reason` was made from and its values, or `None` (free text)."""
    for template, pattern in _PATTERNS:
        match = pattern.fullmatch(reason)
        if match is not None:
            return template, match.groupdict()
    return None
