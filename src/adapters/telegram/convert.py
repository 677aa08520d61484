"""Telegram's types in domain words: chat members, senders, people."""

from telegram import Chat, ChatMember, ChatMemberRestricted, Message, User

from domain.ids import UserId
from domain.membership import Membership, MemberStatus
from domain.senders import Person, Sender

_STATUSES = {
    ChatMember.OWNER: MemberStatus.CREATOR,
    ChatMember.ADMINISTRATOR: MemberStatus.ADMINISTRATOR,
    ChatMember.MEMBER: MemberStatus.MEMBER,
    ChatMember.RESTRICTED: MemberStatus.RESTRICTED,
    ChatMember.LEFT: MemberStatus.LEFT,
    ChatMember.BANNED: MemberStatus.KICKED,
}


def membership_of(member: ChatMember) -> Membership:
    """A `ChatMember` as the domain's membership (rule 2 needs `is_member` of restricted ones)."""
    status = _STATUSES.get(member.status, MemberStatus.LEFT)
    is_member = isinstance(member, ChatMemberRestricted) and member.is_member
    return Membership(status, is_member=is_member)


def person_of(user: User) -> Person:
    """A user as the bot names them."""
    return Person(UserId(user.id), user.full_name, user.is_bot)


def sender_of(message: Message, user: User) -> Sender:
    """The author of a group message, including on whose behalf it was sent."""
    sender_chat: Chat | None = message.sender_chat
    return Sender(
        UserId(user.id),
        is_bot=user.is_bot,
        sender_chat_id=sender_chat.id if sender_chat is not None else None,
        is_automatic_forward=bool(message.is_automatic_forward),
    )
