"""What the bot remembers about a member it restricted, and why."""

import enum
from datetime import datetime

import attrs

from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.language import DEFAULT_LANGUAGE, Language
from domain.membership import Membership, MemberStatus


class WarningReason(enum.StrEnum):
    """Why a member is warned."""

    JOINED = "joined"
    SPOKE = "spoke"
    LEFT_CHANNEL = "left_channel"
    PARTLY_JOINED = "partly_joined"
    """The member joined some of the channels; the warning lists the ones still missing."""


@attrs.frozen
class Restriction:
    """A restriction the bot itself applied (rule 5: only these are ever lifted by the bot).

    It also holds what the member's warning needs (rule 11: the warning is sent later, by the
    paced sender, from what is remembered here).
    """

    group_id: GroupId
    user_id: UserId
    missing: tuple[ChannelId, ...]
    """The channels the member had not joined when last checked."""
    since: datetime
    warning_message_id: MessageId | None = None
    """The bot's current warning to this member, if one is still shown (it may be a merged
    warning that names other members too)."""
    name: str = ""
    """The member's name, as the warning mentions them."""
    reason: WarningReason = WarningReason.SPOKE
    """Why the member's latest warning is shown."""
    thread_id: int | None = None
    """The forum topic the member wrote in, where their warning goes."""
    language: Language = DEFAULT_LANGUAGE
    """The language the member's warning was decided in (rule 15)."""
    language_code: str | None = None
    """The member's Telegram `language_code`, for what is said to them in private."""

    def still_missing(self, missing: tuple[ChannelId, ...]) -> "Restriction":
        """The same restriction after a re-check found `missing` channels still not joined."""
        return attrs.evolve(self, missing=missing)

    def with_warning(self, message_id: MessageId | None) -> "Restriction":
        """The same restriction with the warning currently shown for it."""
        return attrs.evolve(self, warning_message_id=message_id)

    def rewarned(self, reason: WarningReason) -> "Restriction":
        """The same restriction, to be warned again for `reason`."""
        return attrs.evolve(self, reason=reason)


def restricted_by_someone_else(standing: Membership, held: Restriction | None) -> bool:
    """Rule 5: whether a member's restriction belongs to someone else (an admin), not the bot.

    Telegram reports the member as restricted and the bot holds no restriction of its own for
    them: an admin restricted them (perhaps while they were outside the group). Such a
    restriction is never the bot's to record, take over or lift.
    """
    return held is None and standing.status is MemberStatus.RESTRICTED


def restricted_by(new: Membership, actor: int, *, member: int, bot_id: int) -> bool:
    """Rule 5: whether a change of standing in a group is a restriction someone else applied.

    The new standing is restricted and the change was made neither by the bot nor by the member
    themselves (joining or leaving keeps a restriction as it was): an admin restricted them,
    which makes the restriction theirs, even one the bot applied before.
    """
    return new.status is MemberStatus.RESTRICTED and actor not in (bot_id, member)
