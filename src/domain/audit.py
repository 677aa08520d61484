"""The audit trail: every enforcement action and configuration change, per tenant (rule 9)."""

import enum
from datetime import datetime

import attrs

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


@attrs.frozen
class AuditEvent:
    """One entry of a group's audit trail: who did what to whom, why and when."""

    group_id: GroupId
    kind: AuditKind
    at: datetime
    actor: UserId | None = None
    """Who caused it: an admin for configuration, `None` for the bot's own enforcement."""
    subject: UserId | None = None
    """Whom it concerned, for actions on a member."""
    channel_id: ChannelId | None = None
    reason: str = ""
