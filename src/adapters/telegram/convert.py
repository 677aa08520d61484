"""Telegram's senders and users in domain words (chat members: see `messenger.py`)."""

from telegram import Chat, Message, User

from application.authorization import Caller
from domain.ids import UserId
from domain.senders import Person, Sender

MAX_ID = 2**63 - 1
"""Telegram ids fit in a signed 64-bit integer (and so in the database's bigint)."""


def parse_user_id(text: str) -> UserId | None:
    """A user id as typed or carried in button data, or `None` if no user could have it.

    Only ASCII digits count (`str.isdigit` also accepts "²", which `int` refuses), and only
    positive ids within 64 bits.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    user_id = int(text)
    return UserId(user_id) if 0 < user_id <= MAX_ID else None


def person_of(user: User) -> Person:
    """A user as the bot names them."""
    return Person(UserId(user.id), user.full_name, user.is_bot, user.language_code)


def sender_of(message: Message, user: User) -> Sender:
    """The author of a group message, including on whose behalf it was sent."""
    sender_chat: Chat | None = message.sender_chat
    return Sender(
        UserId(user.id),
        is_bot=user.is_bot,
        sender_chat_id=sender_chat.id if sender_chat is not None else None,
        is_automatic_forward=bool(message.is_automatic_forward),
    )


def caller_of(message: Message, user: User) -> Caller:
    """The person behind a command; sent as the group itself, only its admins can have sent it."""
    sender_chat: Chat | None = message.sender_chat
    anonymous = sender_chat is not None and sender_chat.id == message.chat.id
    return Caller(UserId(user.id), anonymous_admin=anonymous)
