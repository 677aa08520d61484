"""Explicit conversions between table rows and domain values (no ORM mapping of attrs classes)."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping

from domain.answers import Answer
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.join_request import PendingJoinRequest
from domain.language import DEFAULT_LANGUAGE, language_of
from domain.notices import NoticeKind
from domain.policy import FailurePolicy, GroupPolicy, GroupSettings, LogChannel, RequiredChannel
from domain.raid import Raid
from domain.restriction import Restriction, WarningReason
from domain.schedule import ActionKind, ScheduledAction

type Values = dict[str, Any]


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _timedelta(value: object) -> timedelta:
    if not isinstance(value, timedelta):
        msg = f"expected an interval, got {value!r}"
        raise TypeError(msg)
    return value


def _datetime(value: object) -> datetime:
    if not isinstance(value, datetime):
        msg = f"expected a timestamp, got {value!r}"
        raise TypeError(msg)
    return value


# --- groups -----------------------------------------------------------------------------------


def group_values(policy: GroupPolicy) -> Values:
    """The `groups` row of a policy (without `version` and the timestamps)."""
    return {
        "tenant_id": policy.group_id,
        "title": policy.title,
        "enabled": policy.enabled,
        "failure_policy": policy.settings.failure_policy.value,
        "warning_ttl": policy.settings.warning_ttl,
        "kick_after": policy.settings.kick_after,
        "join_gate": policy.settings.join_gate,
        "join_gate_timeout": policy.settings.join_gate_timeout,
        "raid_threshold": policy.settings.raid_threshold,
        "language": None if policy.settings.language is None else policy.settings.language.value,
        "warning_text": policy.settings.warning_text,
        "log_channel_id": policy.log_channel.channel_id if policy.log_channel else None,
        "log_channel_title": policy.log_channel.title if policy.log_channel else None,
    }


def raid_values(raid: Raid | None) -> Values:
    """The raid columns of the `groups` row (all NULL: no raid)."""
    return {
        "raid_started_at": None if raid is None else raid.started_at,
        "raid_busy_at": None if raid is None else raid.busy_at,
        "raid_until": None if raid is None else raid.until,
        "raid_by": None if raid is None else raid.by,
        "raid_ended_at": None if raid is None else raid.ended_at,
        "raid_notice_id": None if raid is None else raid.notice_id,
        "raid_shown": None if raid is None else raid.shown,
    }


def raid_from_row(row: RowMapping) -> Raid | None:
    """The raid in a `groups` row, if there is one."""
    if row["raid_started_at"] is None:
        return None
    by, notice = _optional_int(row["raid_by"]), _optional_int(row["raid_notice_id"])
    return Raid(
        started_at=_datetime(row["raid_started_at"]),
        busy_at=_datetime(row["raid_busy_at"]),
        until=None if row["raid_until"] is None else _datetime(row["raid_until"]),
        by=None if by is None else UserId(by),
        ended_at=None if row["raid_ended_at"] is None else _datetime(row["raid_ended_at"]),
        notice_id=None if notice is None else MessageId(notice),
        shown=_optional_int(row["raid_shown"]),
    )


def channel_values(policy: GroupPolicy) -> list[Values]:
    """The `required_channels` rows of a policy, `position` keeping the linking order."""
    return [
        {
            "tenant_id": policy.group_id,
            "channel_id": channel.channel_id,
            "position": position,
            "title": channel.title,
            "username": channel.username,
            "invite_link": channel.invite_link,
        }
        for position, channel in enumerate(policy.channels)
    ]


def policy_from_rows(rows: Sequence[RowMapping]) -> GroupPolicy:
    """A policy from its `groups` row joined with its channels (`channel_*`), in `position` order.

    A group without channels is one row whose `channel_id` is null.
    """
    group = rows[0]
    kick_after = group["kick_after"]
    gate_timeout = group["join_gate_timeout"]
    return GroupPolicy(
        group_id=GroupId(int(group["tenant_id"])),
        title=str(group["title"]),
        enabled=bool(group["enabled"]),
        channels=tuple(
            RequiredChannel(
                channel_id=ChannelId(int(row["channel_id"])),
                title=str(row["channel_title"]),
                username=_optional_str(row["channel_username"]),
                invite_link=_optional_str(row["channel_invite_link"]),
            )
            for row in rows
            if row["channel_id"] is not None
        ),
        settings=GroupSettings(
            failure_policy=FailurePolicy(str(group["failure_policy"])),
            warning_ttl=_timedelta(group["warning_ttl"]),
            kick_after=None if kick_after is None else _timedelta(kick_after),
            join_gate=bool(group["join_gate"]),
            join_gate_timeout=None if gate_timeout is None else _timedelta(gate_timeout),
            raid_threshold=_optional_int(group["raid_threshold"]),
            language=language_of(_optional_str(group["language"])),
            warning_text=_optional_str(group["warning_text"]),
        ),
        raid=raid_from_row(group),
        log_channel=(
            None
            if group["log_channel_id"] is None
            else LogChannel(
                ChannelId(int(group["log_channel_id"])), str(group["log_channel_title"] or "")
            )
        ),
    )


# --- restrictions -----------------------------------------------------------------------------


def restriction_values(restriction: Restriction) -> Values:
    """The `restrictions` row of a restriction."""
    return {
        "tenant_id": restriction.group_id,
        "user_id": restriction.user_id,
        "missing": list(restriction.missing),
        "since": restriction.since,
        "warning_message_id": restriction.warning_message_id,
        "member_name": restriction.name,
        "reason": restriction.reason.value,
        "thread_id": restriction.thread_id,
        "language": restriction.language.value,
        "language_code": restriction.language_code,
    }


def restriction_from_row(row: RowMapping) -> Restriction:
    """A restriction from its row."""
    missing: Sequence[object] = row["missing"]
    message_id = _optional_int(row["warning_message_id"])
    return Restriction(
        group_id=GroupId(int(row["tenant_id"])),
        user_id=UserId(int(row["user_id"])),
        missing=tuple(ChannelId(int(str(channel))) for channel in missing),
        since=_datetime(row["since"]),
        warning_message_id=None if message_id is None else MessageId(message_id),
        name=str(row["member_name"]),
        reason=WarningReason(str(row["reason"])),
        thread_id=_optional_int(row["thread_id"]),
        language=language_of(str(row["language"])) or DEFAULT_LANGUAGE,
        language_code=_optional_str(row["language_code"]),
    )


# --- audit ------------------------------------------------------------------------------------


def event_values(event: AuditEvent) -> Values:
    """The `audit_events` row of an event (the id comes from the database)."""
    return {
        "tenant_id": event.group_id,
        "kind": event.kind.value,
        "at": event.at,
        "actor": event.actor,
        "subject": event.subject,
        "channel_id": event.channel_id,
        "reason": event.reason,
    }


def event_from_row(row: RowMapping) -> AuditEvent:
    """An audit event from its row."""
    actor = _optional_int(row["actor"])
    subject = _optional_int(row["subject"])
    channel = _optional_int(row["channel_id"])
    return AuditEvent(
        group_id=GroupId(int(row["tenant_id"])),
        kind=AuditKind(str(row["kind"])),
        at=_datetime(row["at"]),
        actor=None if actor is None else UserId(actor),
        subject=None if subject is None else UserId(subject),
        channel_id=None if channel is None else ChannelId(channel),
        reason=str(row["reason"]),
    )


# --- scheduled actions ------------------------------------------------------------------------


def action_values(action: ScheduledAction) -> Values:
    """The `scheduled_actions` row of an action."""
    return {
        "action_id": action.action_id,
        "tenant_id": action.group_id,
        "kind": action.kind.value,
        "due_at": action.due_at,
        "user_id": action.user_id,
        "message_id": action.message_id,
        "attempts": action.attempts,
        "notice": None if action.notice is None else action.notice.value,
        "channel_id": action.channel_id,
        "answer_html": None if action.answer is None else action.answer.html,
        "answer_keyboard": None if action.answer is None else action.answer.keyboard,
        "answer_thread_id": None if action.answer is None else action.answer.thread_id,
        "count": action.count,
        "language": None if action.language is None else action.language.value,
    }


def action_from_row(row: RowMapping) -> ScheduledAction:
    """A scheduled action from its row."""
    user = _optional_int(row["user_id"])
    message = _optional_int(row["message_id"])
    channel = _optional_int(row["channel_id"])
    notice = row["notice"]
    action_id = row["action_id"]
    html, keyboard = row["answer_html"], row["answer_keyboard"]
    answer = None
    if html is not None:
        answer = Answer(
            str(html),
            None if keyboard is None else str(keyboard),
            _optional_int(row["answer_thread_id"]),
        )
    return ScheduledAction(
        action_id=action_id if isinstance(action_id, uuid.UUID) else uuid.UUID(str(action_id)),
        group_id=GroupId(int(row["tenant_id"])),
        kind=ActionKind(str(row["kind"])),
        due_at=_datetime(row["due_at"]),
        user_id=None if user is None else UserId(user),
        message_id=None if message is None else MessageId(message),
        attempts=int(row["attempts"]),
        notice=None if notice is None else NoticeKind(str(notice)),
        channel_id=None if channel is None else ChannelId(channel),
        answer=answer,
        count=_optional_int(row["count"]),
        language=language_of(_optional_str(row["language"])),
    )


# --- join requests ----------------------------------------------------------------------------


def join_request_values(request: PendingJoinRequest) -> Values:
    """The `join_requests` row of a pending request."""
    return {
        "tenant_id": request.group_id,
        "user_id": request.user_id,
        "user_chat_id": request.user_chat_id,
        "requested_at": request.requested_at,
        "message_id": request.message_id,
        "language": request.language.value,
    }


def join_request_from_row(row: RowMapping) -> PendingJoinRequest:
    """A pending join request from its row."""
    message = _optional_int(row["message_id"])
    return PendingJoinRequest(
        group_id=GroupId(int(row["tenant_id"])),
        user_id=UserId(int(row["user_id"])),
        user_chat_id=int(row["user_chat_id"]),
        requested_at=_datetime(row["requested_at"]),
        message_id=None if message is None else MessageId(message),
        language=language_of(str(row["language"])) or DEFAULT_LANGUAGE,
    )
