"""Who sent a message or joined, and who is never restricted (rule 4)."""

import enum
from collections.abc import Collection

import attrs

from domain.ids import ANONYMOUS_ADMIN_BOT, SERVICE_NOTIFICATIONS, GroupId, UserId


@attrs.frozen
class Sender:
    """The author of a group message, as the update describes it."""

    user_id: UserId
    is_bot: bool = False
    sender_chat_id: int | None = None
    """Set when the message was sent on behalf of a chat (the group itself or a channel)."""
    is_automatic_forward: bool = False
    """Set on posts Telegram forwards from the group's linked channel."""


class Exemption(enum.StrEnum):
    """Why someone is never restricted in a group."""

    THE_BOT = "the_bot"
    OTHER_BOT = "other_bot"
    """Bots can only be added by admins and cannot join channels."""
    ADMIN = "admin"
    ANONYMOUS_ADMIN = "anonymous_admin"
    LINKED_CHANNEL = "linked_channel"
    """An automatic forward from the group's linked channel."""
    OWN_CHANNEL = "own_channel"
    """A message sent as one of the group's required channels."""
    EXEMPT_LIST = "exempt_list"


def exemption_of(
    sender: Sender,
    *,
    group_id: GroupId,
    bot_id: UserId,
    admins: Collection[UserId],
    exempt_users: Collection[UserId],
    own_channels: Collection[int],
) -> Exemption | None:
    """Rule 4: the reason this sender is never restricted in the group, or `None`."""
    if sender.user_id == bot_id:
        return Exemption.THE_BOT
    if sender.sender_chat_id == group_id or (
        sender.user_id == ANONYMOUS_ADMIN_BOT and sender.sender_chat_id is None
    ):
        return Exemption.ANONYMOUS_ADMIN
    if sender.is_automatic_forward and sender.user_id == SERVICE_NOTIFICATIONS:
        return Exemption.LINKED_CHANNEL
    if sender.sender_chat_id is not None and sender.sender_chat_id in own_channels:
        return Exemption.OWN_CHANNEL
    if sender.user_id in admins:
        return Exemption.ADMIN
    if sender.user_id in exempt_users:
        return Exemption.EXEMPT_LIST
    if sender.is_bot and sender.sender_chat_id is None:
        return Exemption.OTHER_BOT
    return None


def is_foreign_chat_post(sender: Sender) -> bool:
    """Sent on behalf of some other chat: there is no person behind it whose channels to check.

    Call after `exemption_of` returned `None`: the group itself and its own channels are exempt.
    """
    return sender.sender_chat_id is not None


@attrs.frozen
class Person:
    """A user as the bot names them in a warning."""

    user_id: UserId
    name: str
    is_bot: bool = False
    language_code: str | None = None
    """Their Telegram app's language (an IETF tag), when the update tells it (rule 15)."""
