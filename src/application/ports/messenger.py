"""What the application needs from Telegram, in domain words.

The Telegram adapter implements it with python-telegram-bot; the memory adapter records what was
asked. Every method raises only the errors of `application.errors`:

- `MessengerUnavailable`: network error, timeout, 5xx, or 429 past the retry budget;
- `BotLacksRights`: the bot is not an admin of the chat or lacks the right the call needs;
- `ChatNotFound`, `TargetIsAdmin`, `UserNotFound`, `JoinRequestGone`: as named, where a method
  says so.
"""

import enum
from abc import abstractmethod
from datetime import timedelta
from typing import Protocol

import attrs

from domain.answers import Answer
from domain.audit import AuditEvent
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.language import DEFAULT_LANGUAGE, Language
from domain.membership import Membership, MemberStatus
from domain.notices import NoticeKind
from domain.policy import ChannelRef, RequiredChannel
from domain.restriction import WarningReason
from domain.senders import Person


class ChatKind(enum.StrEnum):
    """The kinds of Telegram chats."""

    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


@attrs.frozen
class ChatInfo:
    """A chat as `getChat` describes it."""

    chat_id: int
    kind: ChatKind
    title: str
    username: str | None = None


@attrs.frozen
class ChatRights:
    """A user's status in a chat and the admin rights enforcement needs."""

    status: MemberStatus
    can_restrict_members: bool = False
    can_delete_messages: bool = False
    can_invite_users: bool = False
    can_post_messages: bool = False
    """In a channel: may post there (a log channel needs it)."""

    @property
    def is_admin(self) -> bool:
        """The creator or an administrator."""
        return self.status in (MemberStatus.CREATOR, MemberStatus.ADMINISTRATOR)

    @property
    def can_configure(self) -> bool:
        """May run admin commands: the creator, or an administrator who can restrict members."""
        return self.status is MemberStatus.CREATOR or (
            self.status is MemberStatus.ADMINISTRATOR and self.can_restrict_members
        )


@attrs.frozen
class MuteWarning:
    """A warning to members the bot muted.

    It names them, lists each missing channel, and carries a Verify button: bound to the member
    when it warns one, acting on whoever presses it when it warns several (a merged warning,
    rule 11), always on the presser's own status (rule 5).
    """

    group_id: GroupId
    member: Person
    channels: tuple[RequiredChannel, ...]
    reason: WarningReason
    thread_id: int | None = None
    """The forum topic the member wrote in, so the warning appears there."""
    others: tuple[Person, ...] = ()
    """Further members named by a merged warning."""
    language: Language = DEFAULT_LANGUAGE
    """The warned member's language; a merged warning's is the group's (rule 15)."""
    custom_text: str | None = None
    """The admins' own warning (`{member}`, `{channels}`, `{group}`), for one member; `None`:
    the catalog's. A merged warning always uses the catalog's."""
    group_title: str = ""

    @property
    def members(self) -> tuple[Person, ...]:
        """Everyone the warning names."""
        return (self.member, *self.others)

    @property
    def is_merged(self) -> bool:
        """It names several members, so its Verify acts on whoever presses it."""
        return bool(self.others)


@attrs.frozen
class AdminNotice:
    """A message for the group's admins."""

    group_id: GroupId
    kind: NoticeKind
    channel: RequiredChannel | None = None
    count: int | None = None
    """The number the notice reports, if any (members muted during a raid, joins a minute)."""
    language: Language = DEFAULT_LANGUAGE
    """The group's language (rule 15)."""


@attrs.frozen
class RaidNotice:
    """The group's one notice while a raid lasts (rule 13), and once it is over.

    It carries the join buttons and a Verify that acts on whoever presses it (their own status
    only, rule 5).
    """

    group_id: GroupId
    channels: tuple[RequiredChannel, ...]
    muted: int
    """Members muted since the raid began."""
    over: bool = False
    language: Language = DEFAULT_LANGUAGE
    """The group's language (rule 15)."""


@attrs.frozen
class GateInvitation:
    """Rule 14: the private message to someone who asked to join a gated group.

    It lists the channels they have not joined, each with a way to join, and a Verify button
    that approves the request once they have.
    """

    user_chat_id: int
    group_id: GroupId
    group_title: str
    channels: tuple[RequiredChannel, ...]
    timeout: timedelta | None
    """How long they have before the request is declined; `None`: the admins decide."""
    language: Language = DEFAULT_LANGUAGE
    """The requester's own language (a private chat, rule 15)."""


class GateOutcome(enum.StrEnum):
    """How a gated join request ended, as the requester is told."""

    APPROVED = "approved"
    DECLINED = "declined"


@attrs.frozen
class GateNote:
    """What the private message of a `GateInvitation` becomes once the request has ended."""

    user_chat_id: int
    message_id: MessageId
    group_title: str
    outcome: GateOutcome
    language: Language = DEFAULT_LANGUAGE
    """The requester's own language, as their invitation was written."""


@attrs.frozen
class MemberNotice:
    """A message for one member, in their private chat with the bot (rule 12)."""

    group_id: GroupId
    user_id: UserId
    kind: NoticeKind
    group_title: str
    language: Language = DEFAULT_LANGUAGE
    """The member's own language (a private chat, rule 15)."""


@attrs.frozen
class LogBatch:
    """Audit events of one group, posted together to its log channel (`/setlog`)."""

    channel_id: ChannelId
    group_title: str
    events: tuple[AuditEvent, ...]
    language: Language = DEFAULT_LANGUAGE
    """The group's language (rule 15)."""


class Messenger(Protocol):
    """The bot's hands and eyes in Telegram."""

    @property
    @abstractmethod
    def bot_id(self) -> UserId:
        """The bot's own user id."""

    @abstractmethod
    async def membership(self, chat_id: int, user_id: UserId) -> Membership:
        """The user's current standing in a channel or group, fresh from Telegram.

        Raises `UserNotFound` when Telegram knows no user with this id.
        """

    @abstractmethod
    async def rights(self, chat_id: int, user_id: UserId) -> ChatRights:
        """The user's status and admin rights in a chat (the bot's own with `bot_id`)."""

    @abstractmethod
    async def admins(self, group_id: GroupId) -> frozenset[UserId]:
        """The group's creator and administrators (bots included)."""

    @abstractmethod
    async def chat(self, ref: ChannelRef) -> ChatInfo:
        """Look a chat up by username or id. Raises `ChatNotFound`."""

    @abstractmethod
    async def create_invite_link(self, channel_id: ChannelId, name: str) -> str:
        """Create a named invite link to the channel (never revokes the primary link)."""

    @abstractmethod
    async def restrict(self, group_id: GroupId, user_id: UserId) -> None:
        """Take every send right from the member. Idempotent. Raises `TargetIsAdmin`."""

    @abstractmethod
    async def unrestrict(self, group_id: GroupId, user_id: UserId) -> None:
        """Give back every right a member has by default. Idempotent."""

    @abstractmethod
    async def kick(self, group_id: GroupId, user_id: UserId) -> None:
        """Remove the member from the group; they may join again later."""

    @abstractmethod
    async def delete_message(self, chat_id: int, message_id: MessageId) -> None:
        """Delete a message. A message that is already gone is not an error."""

    @abstractmethod
    async def send_warning(self, warning: MuteWarning) -> MessageId:
        """Post the warning in the group; return its message id."""

    @abstractmethod
    async def send_answer(self, group_id: GroupId, answer: Answer) -> MessageId:
        """Post an answer to a command in the group, before any warning; return its id."""

    @abstractmethod
    async def notify_admins(self, notice: AdminNotice) -> None:
        """Tell the group's admins something they must act on."""

    @abstractmethod
    async def retire_lost_sends(self) -> None:
        """Delete what sends that timed out delivered after all (rule 11), where found.

        A send that timed out raised `MessengerUnavailable` and is sent again by its caller, or
        dropped as obsolete; the copy Telegram may have delivered anyway is looked for by this
        (the paced sender's loop calls it every round; cheap when nothing was lost) and after
        every successful send into the same chat. Best effort: never raises.
        """

    @abstractmethod
    async def approve_join_request(self, group_id: GroupId, user_id: UserId) -> None:
        """Let the user in on their pending request to join the group.

        Raises `JoinRequestGone` when Telegram holds no such request (already handled, or they
        are a member); `BotLacksRights` without `can_invite_users`.
        """

    @abstractmethod
    async def decline_join_request(self, group_id: GroupId, user_id: UserId) -> None:
        """Turn the user's pending request to join the group down.

        Raises `JoinRequestGone` when Telegram holds no such request.
        """

    @abstractmethod
    async def send_gate_invitation(self, invitation: GateInvitation) -> MessageId:
        """Send the invitation in private (an answer to a person, paced as such); return its id.

        Telegram allows it within 5 minutes of the request, or once the user has started the
        bot; else `BotLacksRights`.
        """

    @abstractmethod
    async def show_gate_note(self, note: GateNote) -> None:
        """Replace the invitation's text and buttons by how the request ended."""

    @abstractmethod
    async def send_raid_notice(self, notice: RaidNotice) -> MessageId:
        """Post the raid notice in the group; return its message id."""

    @abstractmethod
    async def edit_raid_notice(self, notice: RaidNotice, message_id: MessageId) -> None:
        """Show `notice` in the raid notice posted as `message_id`.

        Showing what it already shows is not an error. Raises `MessageGone` when the message is
        no longer there to edit (deleted by an admin).
        """

    @abstractmethod
    async def post_log(self, batch: LogBatch) -> None:
        """Post the events to the log channel as one message.

        Raises `BotLacksRights` or `ChatNotFound` when the bot cannot post there.
        """

    @abstractmethod
    async def tell_member(self, notice: MemberNotice) -> None:
        """Write to the member in their private chat with the bot.

        Raises `BotLacksRights` when Telegram refuses: the member never started the bot (a
        bot cannot start a conversation) or blocked it.
        """
