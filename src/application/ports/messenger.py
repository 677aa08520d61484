"""What the application needs from Telegram, in domain words.

The Telegram adapter implements it with python-telegram-bot; the memory adapter records what was
asked. Every method raises only the errors of `application.errors`:

- `MessengerUnavailable`: network error, timeout, 5xx, or 429 past the retry budget;
- `BotLacksRights`: the bot is not an admin of the chat or lacks the right the call needs;
- `ChatNotFound`, `TargetIsAdmin`, `UserNotFound`: as named, where a method says so.
"""

import enum
from abc import abstractmethod
from typing import Protocol

import attrs

from domain.audit import AuditEvent
from domain.ids import ChannelId, GroupId, MessageId, UserId
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


@attrs.frozen
class MemberNotice:
    """A message for one member, in their private chat with the bot (rule 12)."""

    group_id: GroupId
    user_id: UserId
    kind: NoticeKind
    group_title: str


@attrs.frozen
class LogBatch:
    """Audit events of one group, posted together to its log channel (`/setlog`)."""

    channel_id: ChannelId
    group_title: str
    events: tuple[AuditEvent, ...]


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
    async def notify_admins(self, notice: AdminNotice) -> None:
        """Tell the group's admins something they must act on."""

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
