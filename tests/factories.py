"""Builders of domain values for contract suites and unit tests."""

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta

from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId, UserId
from domain.policy import GroupPolicy, GroupSettings, RequiredChannel
from domain.restriction import Restriction
from domain.schedule import ActionKind, ScheduledAction

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

# Ids unique within a test session, and unlikely to collide with a database reused across runs.
_ids = itertools.count(random.randrange(10**6) * 1000)


def new_group() -> GroupId:
    """A supergroup id no other test uses."""
    return GroupId(-1_000_000_000_000 - next(_ids))


def new_channel() -> ChannelId:
    """A channel id no other test uses."""
    return ChannelId(-1_009_000_000_000 - next(_ids))


def new_user() -> UserId:
    """A user id no other test uses."""
    return UserId(5_000_000_000 + next(_ids))


def make_channel(
    channel_id: ChannelId | None = None,
    *,
    title: str = "News",
    username: str | None = "news_channel",
    invite_link: str | None = None,
) -> RequiredChannel:
    """A required channel with display data."""
    return RequiredChannel(
        channel_id=channel_id if channel_id is not None else new_channel(),
        title=title,
        username=username,
        invite_link=invite_link,
    )


def make_policy(
    group_id: GroupId,
    *channels: RequiredChannel,
    enabled: bool = True,
    settings: GroupSettings | None = None,
) -> GroupPolicy:
    """A group policy requiring `channels`."""
    return GroupPolicy(
        group_id=group_id,
        title="Test group",
        enabled=enabled,
        channels=channels,
        settings=settings or GroupSettings(),
    )


def make_restriction(
    group_id: GroupId, user_id: UserId, *missing: ChannelId, since: datetime = T0
) -> Restriction:
    """A restriction the bot applied."""
    return Restriction(group_id=group_id, user_id=user_id, missing=missing, since=since)


def make_action(
    group_id: GroupId,
    kind: ActionKind = ActionKind.DELETE_MESSAGE,
    *,
    due_at: datetime = T0,
    user_id: UserId | None = None,
) -> ScheduledAction:
    """A scheduled action."""
    return ScheduledAction(
        action_id=uuid.uuid4(), group_id=group_id, kind=kind, due_at=due_at, user_id=user_id
    )


def make_event(group_id: GroupId, kind: AuditKind, *, minutes: int = 0) -> AuditEvent:
    """An audit event `minutes` after T0."""
    return AuditEvent(group_id=group_id, kind=kind, at=T0 + timedelta(minutes=minutes))
