"""A Telegram stand-in: answers from tables a test fills, and records what it was asked.

Inputs: `memberships`, `chat_rights`, `chats`, `group_admins`, `unknown_users`, `failures`,
`join_requests`, `unreachable`, `started`.
Outputs: `warnings`, `deleted`, `kicked`, `notices`, `raid_notices` (each raid notice as it
now shows), `told`, `logged`, `invite_links`, `invitations`, `gate_notes`, `approved`,
`declined`, `calls`; restricting and lifting change `memberships` in the group as Telegram
would, so `is_restricted()` tells the current state.
"""

from collections.abc import Callable

import attrs

from application.errors import (
    BotLacksRights,
    ChatNotFound,
    JoinRequestGone,
    MessageGone,
    MessengerError,
    TargetIsAdmin,
    UserNotFound,
)
from application.ports.messenger import (
    AdminNotice,
    ChatInfo,
    ChatRights,
    GateInvitation,
    GateNote,
    LogBatch,
    MemberNotice,
    Messenger,
    MuteWarning,
    RaidNotice,
)
from domain.answers import Answer
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.membership import Membership, MemberStatus
from domain.policy import ChannelRef

type Failure = Callable[[], MessengerError]


@attrs.define
class InMemoryMessenger(Messenger):
    """The memory twin of the Telegram messenger."""

    own_id: UserId = attrs.field(default=UserId(1))
    memberships: dict[tuple[int, UserId], Membership] = attrs.Factory(
        dict[tuple[int, UserId], Membership]
    )
    """Standing of users in channels and groups; absent means `left`."""
    chat_rights: dict[tuple[int, UserId], ChatRights] = attrs.Factory(
        dict[tuple[int, UserId], ChatRights]
    )
    """Admin rights; absent means derived from `memberships` with no rights."""
    chats: dict[str, ChatInfo] = attrs.Factory(dict[str, ChatInfo])
    """Chats by `@username` and by id (as text)."""
    unknown_users: set[UserId] = attrs.Factory(set[UserId])
    """Ids Telegram knows no user for (`membership` raises `UserNotFound`)."""
    failures: dict[tuple[str, int], Failure] = attrs.Factory(dict[tuple[str, int], Failure])
    """`(method, chat_id)` → a factory of the error that call raises."""
    join_requests: set[tuple[GroupId, UserId]] = attrs.Factory(set[tuple[GroupId, UserId]])
    """Requests to join that Telegram holds pending."""
    unreachable: set[int] = attrs.Factory(set[int])
    """Private chats Telegram refuses messages to (the user blocked the bot, or the window
    passed)."""

    warnings: list[tuple[MessageId, MuteWarning]] = attrs.Factory(
        list[tuple[MessageId, MuteWarning]]
    )
    deleted: list[tuple[int, MessageId]] = attrs.Factory(list[tuple[int, MessageId]])
    kicked: list[tuple[GroupId, UserId]] = attrs.Factory(list[tuple[GroupId, UserId]])
    notices: list[AdminNotice] = attrs.Factory(list[AdminNotice])
    answers: list[tuple[MessageId, Answer]] = attrs.Factory(list[tuple[MessageId, Answer]])
    raid_notices: dict[MessageId, RaidNotice] = attrs.Factory(dict[MessageId, RaidNotice])
    told: list[MemberNotice] = attrs.Factory(list[MemberNotice])
    logged: list[LogBatch] = attrs.Factory(list[LogBatch])
    """What was posted to log channels."""
    started: set[UserId] = attrs.Factory(set[UserId])
    """Users who started the private chat with the bot (only they can be written to)."""
    invite_links: list[tuple[ChannelId, str]] = attrs.Factory(list[tuple[ChannelId, str]])
    invitations: list[tuple[MessageId, GateInvitation]] = attrs.Factory(
        list[tuple[MessageId, GateInvitation]]
    )
    gate_notes: list[GateNote] = attrs.Factory(list[GateNote])
    approved: list[tuple[GroupId, UserId]] = attrs.Factory(list[tuple[GroupId, UserId]])
    declined: list[tuple[GroupId, UserId]] = attrs.Factory(list[tuple[GroupId, UserId]])
    calls: list[tuple[str, int, int | None]] = attrs.Factory(list[tuple[str, int, int | None]])
    """Every call as `(method, chat_id, user_id or message_id)`, in order."""
    _next_message_id: int = 1000

    # --- test helpers -----------------------------------------------------------------------

    def set_status(
        self, chat_id: int, user_id: UserId, status: MemberStatus, *, is_member: bool = False
    ) -> None:
        """Put a user in a chat with a status."""
        self.memberships[(chat_id, user_id)] = Membership(status, is_member=is_member)

    def is_restricted(self, group_id: GroupId, user_id: UserId) -> bool:
        """Whether the member currently has no send rights in the group."""
        found = self.memberships.get((group_id, user_id))
        return found is not None and found.status is MemberStatus.RESTRICTED

    def fail(self, method: str, chat_id: int, error: Failure) -> None:
        """Make every call of `method` about `chat_id` raise `error()` until `heal`."""
        self.failures[(method, chat_id)] = error

    def heal(self, method: str, chat_id: int) -> None:
        """Stop failing `method` for `chat_id`."""
        self.failures.pop((method, chat_id), None)

    def calls_of(self, method: str) -> list[tuple[str, int, int | None]]:
        """The recorded calls of one method."""
        return [call for call in self.calls if call[0] == method]

    # --- the port ---------------------------------------------------------------------------

    def _call(self, method: str, chat_id: int, detail: int | None = None) -> None:
        self.calls.append((method, chat_id, detail))
        failure = self.failures.get((method, chat_id))
        if failure is not None:
            raise failure()

    def _new_message_id(self) -> MessageId:
        self._next_message_id += 1
        return MessageId(self._next_message_id)

    @property
    def bot_id(self) -> UserId:
        return self.own_id

    async def membership(self, chat_id: int, user_id: UserId) -> Membership:
        self._call("membership", chat_id, user_id)
        if user_id in self.unknown_users:
            raise UserNotFound(user_id)
        return self.memberships.get((chat_id, user_id), Membership(MemberStatus.LEFT))

    async def rights(self, chat_id: int, user_id: UserId) -> ChatRights:
        self._call("rights", chat_id, user_id)
        explicit = self.chat_rights.get((chat_id, user_id))
        if explicit is not None:
            return explicit
        standing = self.memberships.get((chat_id, user_id), Membership(MemberStatus.LEFT))
        return ChatRights(standing.status)

    async def admins(self, group_id: GroupId) -> frozenset[UserId]:
        self._call("admins", group_id)
        from_rights = {u for (c, u), r in self.chat_rights.items() if c == group_id and r.is_admin}
        from_status = {u for (c, u), m in self.memberships.items() if c == group_id and m.is_admin}
        return frozenset(from_rights | from_status)

    async def chat(self, ref: ChannelRef) -> ChatInfo:
        key = f"@{ref.username}".lower() if ref.username else str(ref.channel_id)
        self.calls.append(("chat", ref.channel_id or 0, None))
        found = self.chats.get(key)
        if found is None:
            raise ChatNotFound(str(ref))
        return found

    async def create_invite_link(self, channel_id: ChannelId, name: str) -> str:
        self._call("create_invite_link", channel_id)
        link = f"https://t.me/+{abs(channel_id)}-{len(self.invite_links) + 1}"
        self.invite_links.append((channel_id, link))
        return link

    async def restrict(self, group_id: GroupId, user_id: UserId) -> None:
        self._call("restrict", group_id, user_id)
        current = self.memberships.get((group_id, user_id), Membership(MemberStatus.LEFT))
        if current.is_admin:
            raise TargetIsAdmin(group_id, user_id)
        self.memberships[(group_id, user_id)] = Membership(
            MemberStatus.RESTRICTED, is_member=current.is_present
        )

    async def unrestrict(self, group_id: GroupId, user_id: UserId) -> None:
        self._call("unrestrict", group_id, user_id)
        current = self.memberships.get((group_id, user_id))
        if current is not None and current.status is MemberStatus.RESTRICTED:
            status = MemberStatus.MEMBER if current.is_member else MemberStatus.LEFT
            self.memberships[(group_id, user_id)] = Membership(status)

    async def kick(self, group_id: GroupId, user_id: UserId) -> None:
        self._call("kick", group_id, user_id)
        if self.memberships.get((group_id, user_id), Membership(MemberStatus.LEFT)).is_admin:
            raise TargetIsAdmin(group_id, user_id)
        self.kicked.append((group_id, user_id))
        self.memberships[(group_id, user_id)] = Membership(MemberStatus.LEFT)

    async def delete_message(self, chat_id: int, message_id: MessageId) -> None:
        self._call("delete_message", chat_id, message_id)
        self.deleted.append((chat_id, message_id))

    async def send_warning(self, warning: MuteWarning) -> MessageId:
        self._call("send_warning", warning.group_id, warning.member.user_id)
        message_id = self._new_message_id()
        self.warnings.append((message_id, warning))
        return message_id

    async def send_answer(self, group_id: GroupId, answer: Answer) -> MessageId:
        self._call("send_answer", group_id)
        message_id = self._new_message_id()
        self.answers.append((message_id, answer))
        return message_id

    async def notify_admins(self, notice: AdminNotice) -> None:
        self._call("notify_admins", notice.group_id)
        self.notices.append(notice)

    async def retire_lost_sends(self) -> None:
        return  # a memory send never times out

    async def approve_join_request(self, group_id: GroupId, user_id: UserId) -> None:
        self._call("approve_join_request", group_id, user_id)
        if (group_id, user_id) not in self.join_requests:
            raise JoinRequestGone(group_id, user_id)
        self.join_requests.discard((group_id, user_id))
        self.approved.append((group_id, user_id))
        self.memberships[(group_id, user_id)] = Membership(MemberStatus.MEMBER)

    async def decline_join_request(self, group_id: GroupId, user_id: UserId) -> None:
        self._call("decline_join_request", group_id, user_id)
        if (group_id, user_id) not in self.join_requests:
            raise JoinRequestGone(group_id, user_id)
        self.join_requests.discard((group_id, user_id))
        self.declined.append((group_id, user_id))

    async def send_gate_invitation(self, invitation: GateInvitation) -> MessageId:
        self._call("send_gate_invitation", invitation.user_chat_id, invitation.group_id)
        if invitation.user_chat_id in self.unreachable:
            raise BotLacksRights(invitation.user_chat_id, "bot can't initiate conversation")
        message_id = self._new_message_id()
        self.invitations.append((message_id, invitation))
        return message_id

    async def show_gate_note(self, note: GateNote) -> None:
        self._call("show_gate_note", note.user_chat_id, note.message_id)
        self.gate_notes.append(note)

    async def send_raid_notice(self, notice: RaidNotice) -> MessageId:
        self._call("send_raid_notice", notice.group_id)
        message_id = self._new_message_id()
        self.raid_notices[message_id] = notice
        return message_id

    async def edit_raid_notice(self, notice: RaidNotice, message_id: MessageId) -> None:
        self._call("edit_raid_notice", notice.group_id, message_id)
        if message_id not in self.raid_notices or (notice.group_id, message_id) in self.deleted:
            raise MessageGone(notice.group_id, message_id)
        self.raid_notices[message_id] = notice

    async def post_log(self, batch: LogBatch) -> None:
        self._call("post_log", batch.channel_id, None)
        rights = self.chat_rights.get((batch.channel_id, self.own_id))
        if rights is None or not rights.can_post_messages:
            raise BotLacksRights(batch.channel_id, "need administrator rights in the channel chat")
        self.logged.append(batch)

    async def tell_member(self, notice: MemberNotice) -> None:
        self._call("tell_member", notice.user_id, None)
        if notice.user_id not in self.started:
            raise BotLacksRights(notice.user_id, "bot can't initiate conversation with a user")
        self.told.append(notice)
