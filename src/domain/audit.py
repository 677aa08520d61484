"""The audit trail: every enforcement action and configuration change, per tenant (rule 9)."""

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from domain import reasons
from domain.ids import ChannelId, GroupId, UserId


class AuditKind(enum.StrEnum):
    """What happened."""

    MUTED = "muted"
    UNMUTED = "unmuted"
    WARNED = "warned"
    MESSAGE_DELETED = "message_deleted"
    KICKED = "kicked"
    CHECK_FAILED = "check_failed"
    ACTION_FAILED = "action_failed"
    PROTECTED = "protected"
    UNPROTECTED = "unprotected"
    CHANNEL_UNLINKED = "channel_unlinked"
    SETTING_CHANGED = "setting_changed"
    EXEMPTED = "exempted"
    UNEXEMPTED = "unexempted"
    BOT_STATUS_CHANGED = "bot_status_changed"
    JOIN_REQUESTED = "join_requested"
    JOIN_APPROVED = "join_approved"
    JOIN_DECLINED = "join_declined"
    RAID_STARTED = "raid_started"
    RAID_ENDED = "raid_ended"
    LOG_CHANNEL_SET = "log_channel_set"
    LOG_CHANNEL_OFF = "log_channel_off"


@attrs.frozen
class AuditEvent:
    """One entry of a group's audit trail: who did what to whom, why and when.

    The constructors below name the events the bot records; each says who the actor is.
    """

    group_id: GroupId
    kind: AuditKind
    at: datetime
    actor: UserId | None = None
    """Who caused it: an admin for configuration, `None` for the bot's own enforcement."""
    subject: UserId | None = None
    """Whom it concerned, for actions on a member."""
    channel_id: ChannelId | None = None
    reason: str = ""
    """Why, in English: a template of `domain.reasons` filled in (or free text of older rows)."""
    missing: tuple[ChannelId, ...] = attrs.field(default=(), eq=False)
    """For a mute: the channels the member missed (in `reason` too; the trail stores only that,
    so it is not part of the event's identity)."""

    def recognized_reason(self) -> tuple[str, dict[str, str]] | None:
        """The translated template of `reason` and its values (`reasons.recognize`), or `None`.

        `None` too for the reasons that are what an admin typed (a setting, a channel's title):
        they are shown as recorded, whatever they look like.
        """
        if self.kind in _AS_TYPED:
            return None
        return reasons.recognize(self.reason)

    # --- the bot's own enforcement (no actor) -------------------------------------------------

    @classmethod
    def muted(
        cls,
        group_id: GroupId,
        at: datetime,
        user_id: UserId,
        missing: Iterable[ChannelId],
        why: str,
    ) -> "AuditEvent":
        """The bot muted a member for the channels they miss.

        `why` is the template (`reasons.MUTED_FOR[…]`, `reasons.MUTE_DEFERRED`), `{channels}`
        filled in here.
        """
        channels = tuple(missing)
        reason = why.format(channels=reasons.channel_list(channels))
        return cls(group_id, AuditKind.MUTED, at, subject=user_id, reason=reason, missing=channels)

    @classmethod
    def unmuted(
        cls,
        group_id: GroupId,
        at: datetime,
        user_id: UserId,
        reason: str,
        actor: UserId | None = None,
    ) -> "AuditEvent":
        """A mute the bot applied ended: lifted by the bot, or by `actor` by hand."""
        return cls(group_id, AuditKind.UNMUTED, at, actor=actor, subject=user_id, reason=reason)

    @classmethod
    def warned(cls, group_id: GroupId, at: datetime, user_id: UserId) -> "AuditEvent":
        """The bot posted a warning to a member."""
        return cls(group_id, AuditKind.WARNED, at, subject=user_id)

    @classmethod
    def message_deleted(
        cls, group_id: GroupId, at: datetime, user_id: UserId | None = None, reason: str = ""
    ) -> "AuditEvent":
        """The bot deleted a message (of `user_id`, when a person sent it)."""
        return cls(group_id, AuditKind.MESSAGE_DELETED, at, subject=user_id, reason=reason)

    @classmethod
    def kicked(cls, group_id: GroupId, at: datetime, user_id: UserId, reason: str) -> "AuditEvent":
        """The bot removed a member who did not verify in time."""
        return cls(group_id, AuditKind.KICKED, at, subject=user_id, reason=reason)

    @classmethod
    def check_failed(
        cls, group_id: GroupId, at: datetime, channel_id: ChannelId, reason: str
    ) -> "AuditEvent":
        """Telegram could not say whether members joined a channel (rule 8)."""
        return cls(group_id, AuditKind.CHECK_FAILED, at, channel_id=channel_id, reason=reason)

    @classmethod
    def action_failed(
        cls, group_id: GroupId, at: datetime, user_id: UserId | None, reason: str
    ) -> "AuditEvent":
        """Telegram refused or failed an action the bot tried."""
        return cls(group_id, AuditKind.ACTION_FAILED, at, subject=user_id, reason=reason)

    @classmethod
    def join_approved(
        cls, group_id: GroupId, at: datetime, user_id: UserId, reason: str
    ) -> "AuditEvent":
        """The join gate approved a request (rule 14)."""
        return cls(group_id, AuditKind.JOIN_APPROVED, at, subject=user_id, reason=reason)

    @classmethod
    def join_declined(
        cls, group_id: GroupId, at: datetime, user_id: UserId, reason: str
    ) -> "AuditEvent":
        """The join gate declined a request (rule 14)."""
        return cls(group_id, AuditKind.JOIN_DECLINED, at, subject=user_id, reason=reason)

    @classmethod
    def raid(
        cls,
        group_id: GroupId,
        at: datetime,
        *,
        started: bool,
        actor: UserId | None,
        reason: str,
    ) -> "AuditEvent":
        """Raid mode began or ended (rule 13), by an admin (`actor`) or by the join rate."""
        kind = AuditKind.RAID_STARTED if started else AuditKind.RAID_ENDED
        return cls(group_id, kind, at, actor=actor, reason=reason)

    # --- what people did ------------------------------------------------------------------------

    @classmethod
    def by(
        cls,
        actor: UserId,
        kind: AuditKind,
        group_id: GroupId,
        at: datetime,
        *,
        subject: UserId | None = None,
        channel_id: ChannelId | None = None,
        reason: str = "",
    ) -> "AuditEvent":
        """Something `actor` (an admin, a joiner, the bot's promoter) did in the group."""
        return cls(group_id, kind, at, actor, subject, channel_id, reason)


_AS_TYPED = frozenset({AuditKind.SETTING_CHANGED, AuditKind.LOG_CHANNEL_SET})
"""Kinds whose reason is an admin's input (`reasons.SETTING`, `reasons.LOG_CHANNEL`)."""
