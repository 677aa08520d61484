"""Work the bot must do later (rule 10: it lives in the database, not in process memory)."""

import enum
import uuid
from datetime import datetime, timedelta

import attrs

from domain.answers import Answer
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.language import DEFAULT_LANGUAGE, Language
from domain.notices import NoticeKind
from domain.policy import GroupPolicy


class ActionKind(enum.StrEnum):
    """What a scheduled action does when it falls due."""

    DELETE_MESSAGE = "delete_message"
    KICK_UNVERIFIED = "kick_unverified"
    """Remove the member if the bot's restriction is still in place."""
    LIFT_RESTRICTION = "lift_restriction"
    """Lift the bot's own restriction (after /unprotect, /unlink or /exempt)."""
    RESTRICT_MEMBER = "restrict_member"
    """Apply a mute Telegram could not take at once (a 429 past the wait budget, a 5xx): the
    restriction is remembered, the warning follows once the mute holds."""
    SEND_WARNING = "send_warning"
    """Warn a member the bot muted (rule 11: a durable intent the paced sender carries out;
    intents that queue up in a group are merged into one message)."""
    APPROVE_JOIN_REQUEST = "approve_join_request"
    """Approve a join request Telegram could not take at once (rule 14, rule 11: deferred,
    never dropped)."""
    DECLINE_JOIN_REQUEST = "decline_join_request"
    """Decline a join request still pending at the group's `join_gate_timeout` (rule 14)."""
    SEND_GATE_INVITATION = "send_gate_invitation"
    """Tell a join requester in private what to join (rules 11 and 14: a durable intent the
    paced sender carries out, before the group's warnings)."""
    SEND_NOTICE = "send_notice"
    """Tell the group's admins what keeps the bot from its job (rules 8 and 11: a durable intent
    the paced sender carries out after the group's warnings)."""
    SEND_ANSWER = "send_answer"
    """Answer a command Telegram could not take at once (rule 11: deferred, never dropped; the
    paced sender carries it out before the group's warnings)."""
    RAID_NOTICE = "raid_notice"
    """Keep the group's one raid notice up to date while a raid lasts, end the raid when it is
    over, and close the notice (rule 13: carried out by the paced sender, due again every few
    seconds while the raid lasts)."""


PACED_KINDS = frozenset(
    {
        ActionKind.SEND_ANSWER,
        ActionKind.SEND_GATE_INVITATION,
        ActionKind.SEND_WARNING,
        ActionKind.RAID_NOTICE,
        ActionKind.SEND_NOTICE,
    }
)
"""The kinds the paced sender carries out (`application.background.Senders`); the due-actions
loop runs every other kind. Each loop asks the directory only for the groups where one of its
own kinds is due, so a group with nothing due for a loop costs that loop nothing."""


@attrs.frozen
class ScheduledAction:
    """One piece of deferred work in one group."""

    action_id: uuid.UUID
    group_id: GroupId
    kind: ActionKind
    due_at: datetime
    user_id: UserId | None = None
    message_id: MessageId | None = None
    attempts: int = 0
    notice: NoticeKind | None = None
    """What a `SEND_NOTICE` tells the admins."""
    channel_id: ChannelId | None = None
    """The required channel a `SEND_NOTICE` is about, if any."""
    answer: Answer | None = None
    """What a `SEND_ANSWER` says (its `message_id` is the command's, deleted with it)."""
    count: int | None = None
    """The number a `SEND_NOTICE` reports, if any (members muted during a raid, joins a
    minute that started one)."""
    language: Language | None = None
    """The language a deferred notice to one person was decided in (rule 15); `None`: the
    group's, read when it is sent."""

    @classmethod
    def new(
        cls,
        group_id: GroupId,
        kind: ActionKind,
        due_at: datetime,
        *,
        user_id: UserId | None = None,
        message_id: MessageId | None = None,
        notice: NoticeKind | None = None,
        channel_id: ChannelId | None = None,
        answer: Answer | None = None,
        count: int | None = None,
    ) -> "ScheduledAction":
        """A new action with a fresh id, due at `due_at`."""
        return cls(
            uuid.uuid4(),
            group_id,
            kind,
            due_at,
            user_id,
            message_id,
            notice=notice,
            channel_id=channel_id,
            answer=answer,
            count=count,
        )

    def retried(self, at: datetime) -> "ScheduledAction":
        """The same action, due again at `at` after one more failed attempt."""
        return attrs.evolve(self, due_at=at, attempts=self.attempts + 1)

    def deferred(self, now: datetime, retry_after: float | None = None) -> "ScheduledAction":
        """The same action after one more failure, due when `retry_wait` says (rule 11)."""
        return self.retried(now + retry_wait(self.attempts, retry_after))


def lift(group_id: GroupId, user_id: UserId, now: datetime) -> ScheduledAction:
    """Lifting the bot's restriction of a member in the background, at once."""
    return ScheduledAction.new(group_id, ActionKind.LIFT_RESTRICTION, now, user_id=user_id)


def deletion(
    group_id: GroupId, message_id: MessageId, at: datetime, user_id: UserId | None = None
) -> ScheduledAction:
    """Deleting one message of the group at `at` (of `user_id`'s, when it concerns a member)."""
    return ScheduledAction.new(
        group_id, ActionKind.DELETE_MESSAGE, at, user_id=user_id, message_id=message_id
    )


def warning_expiry(
    policy: GroupPolicy, user_id: UserId | None, warning_id: MessageId, now: datetime
) -> ScheduledAction:
    """Rule 3: deleting a warning once the group's `warning_ttl` has passed.

    `user_id` is the member a warning names alone (lifting them cancels the deletion, since the
    warning goes with them); `None` for a merged warning, which stays until it expires.
    """
    return deletion(policy.group_id, warning_id, now + policy.settings.warning_ttl, user_id)


def restriction_retry(group_id: GroupId, user_id: UserId, at: datetime) -> ScheduledAction:
    """Rule 11: apply this member's mute at `at`, Telegram having refused it for now."""
    return ScheduledAction.new(group_id, ActionKind.RESTRICT_MEMBER, at, user_id=user_id)


def warning_intent(group_id: GroupId, user_id: UserId, now: datetime) -> ScheduledAction:
    """Rule 11: warn this member, as soon as the group's send budget allows."""
    return ScheduledAction.new(group_id, ActionKind.SEND_WARNING, now, user_id=user_id)


def notice_intent(
    group_id: GroupId,
    notice: NoticeKind,
    now: datetime,
    channel_id: ChannelId | None = None,
    count: int | None = None,
) -> ScheduledAction:
    """Rules 8 and 11: tell the admins, once the group's warnings have gone out."""
    return ScheduledAction.new(
        group_id, ActionKind.SEND_NOTICE, now, notice=notice, channel_id=channel_id, count=count
    )


def answer_intent(
    group_id: GroupId, answer: Answer, command_id: MessageId | None, at: datetime
) -> ScheduledAction:
    """Rule 11: answer a command at `at`, Telegram having refused the answer for now."""
    return ScheduledAction.new(
        group_id, ActionKind.SEND_ANSWER, at, message_id=command_id, answer=answer
    )


def raid_notice_refresh(group_id: GroupId, at: datetime) -> ScheduledAction:
    """Rule 13: post or update the group's raid notice at `at` (and see whether it is over)."""
    return ScheduledAction.new(group_id, ActionKind.RAID_NOTICE, at)


def member_notice(
    group_id: GroupId,
    user_id: UserId,
    notice: NoticeKind,
    now: datetime,
    language: Language = DEFAULT_LANGUAGE,
) -> ScheduledAction:
    """Rules 11 and 12: tell a member in private (in `language`), paced like admins' notices."""
    action = ScheduledAction.new(
        group_id, ActionKind.SEND_NOTICE, now, user_id=user_id, notice=notice
    )
    return attrs.evolve(action, language=language)


def kick_of_unverified(
    policy: GroupPolicy, user_id: UserId, now: datetime
) -> ScheduledAction | None:
    """Removing a muted member who has not verified after `kick_after`; `None` if never."""
    kick_after = policy.settings.kick_after
    if kick_after is None:
        return None
    return ScheduledAction.new(
        policy.group_id, ActionKind.KICK_UNVERIFIED, now + kick_after, user_id=user_id
    )


def join_request_timeout(
    policy: GroupPolicy, user_id: UserId, now: datetime
) -> ScheduledAction | None:
    """Rule 14: declining a request still pending after `join_gate_timeout`; `None` if never."""
    timeout = policy.settings.join_gate_timeout
    if timeout is None:
        return None
    return ScheduledAction.new(
        policy.group_id, ActionKind.DECLINE_JOIN_REQUEST, now + timeout, user_id=user_id
    )


def gate_invitation_intent(group_id: GroupId, user_id: UserId, now: datetime) -> ScheduledAction:
    """Rules 11 and 14: tell this requester what to join, as soon as the send budget allows."""
    return ScheduledAction.new(group_id, ActionKind.SEND_GATE_INVITATION, now, user_id=user_id)


def approval_retry(group_id: GroupId, user_id: UserId, at: datetime) -> ScheduledAction:
    """Rule 11: approve this join request at `at`, Telegram having refused it for now."""
    return ScheduledAction.new(group_id, ActionKind.APPROVE_JOIN_REQUEST, at, user_id=user_id)


RETRY_CAP = timedelta(minutes=10)
"""The longest backoff: a failing action is tried again at least this often, forever (rule 11:
deferred, never dropped)."""


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff before the next attempt: 10 s, 20 s, 40 s, … capped at `RETRY_CAP`.

    Any number of earlier failures is fine (an action may fail for days).
    """
    return min(timedelta(seconds=10) * 2 ** min(attempts, 16), RETRY_CAP)


def retry_wait(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait before trying again.

    Exactly what Telegram asked for, when it said (`retry_after` seconds); else the backoff for
    `attempts` earlier failures.
    """
    return timedelta(seconds=retry_after) if retry_after is not None else retry_delay(attempts)


def worth_reporting(failures: int) -> bool:
    """Whether the `failures`-th failure in a row of one action is worth a log line.

    The 1st, 2nd, 4th, 8th, …: an action failing for days writes a dozen lines, not thousands.
    """
    return failures > 0 and failures & (failures - 1) == 0
