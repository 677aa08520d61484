"""Which member an admin command is about (`/exempt`, `/unexempt`, `/why`).

An admin points at a member in one of three ways: by replying to a message, by `@username`, or
by numeric id (a text mention carries the id too). A reply to the bot's own warning means the
member it warns, never the bot; a username resolves only to a member the bot has seen in this
group (the Bot API cannot look one up).
"""

import enum
import logging

import attrs

from application.errors import ApplicationError, MessengerError
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.ids import (
    ANONYMOUS_ADMIN_BOT,
    CHANNEL_BOT,
    SERVICE_NOTIFICATIONS,
    GroupId,
    MessageId,
    UserId,
)

log = logging.getLogger(__name__)

PLACEHOLDER_SENDERS = frozenset({ANONYMOUS_ADMIN_BOT, CHANNEL_BOT, SERVICE_NOTIFICATIONS})
"""Accounts Telegram shows as the sender of messages sent on behalf of a chat: no person."""


@attrs.frozen
class ById:
    """A numeric id, typed or carried by a text mention."""

    user_id: UserId


@attrs.frozen
class ByUsername:
    """An `@username` (without the "@")."""

    username: str


@attrs.frozen
class ByReply:
    """A reply to a message of the group."""

    author: UserId
    message_id: MessageId
    on_behalf_of_chat: bool = False
    """The message was sent as a chat (an anonymous admin, a channel): no person is behind it."""


type Target = ById | ByUsername | ByReply


class Refusal(enum.StrEnum):
    """Why a command cannot act on the member pointed at."""

    THE_BOT = "the_bot"
    """The bot itself (or a message of the bot's that warns nobody the bot still mutes)."""
    ANONYMOUS = "anonymous"
    """A message sent on behalf of a chat: there is no member to act on."""
    ADMIN = "admin"
    """A group admin: never muted, so there is nothing to exempt."""
    SEVERAL_WARNED = "several_warned"
    """A merged warning names several members: the admin must name one."""
    UNKNOWN_USERNAME = "unknown_username"
    """No member with this username was seen in the group."""


@attrs.define(eq=False)
class TargetRefused(ApplicationError):
    """The member pointed at cannot be acted on; `refusal` says why."""

    refusal: Refusal
    username: str = ""

    def __str__(self) -> str:
        return f"target refused: {self.refusal.value}"


@attrs.frozen
class Targets:
    """Resolves what an admin pointed at to one member of the group."""

    uow: UnitOfWork
    messenger: Messenger

    async def member(self, group_id: GroupId, target: Target, *, admins_too: bool) -> UserId:
        """The member `target` means in the group.

        `admins_too`: whether a group admin may be the target (`/why` may explain one;
        `/exempt` has nothing to do for one).

        Raises:
            TargetRefused: the bot, a chat (anonymous sender), an admin when not `admins_too`,
                a merged warning, or a username the bot has not seen here.
        """
        user_id = await self._resolve(group_id, target)
        if user_id == self.messenger.bot_id:
            raise TargetRefused(Refusal.THE_BOT)
        if user_id in PLACEHOLDER_SENDERS:
            raise TargetRefused(Refusal.ANONYMOUS)
        if not admins_too and await self._is_admin(group_id, user_id):
            raise TargetRefused(Refusal.ADMIN)
        return user_id

    async def _is_admin(self, group_id: GroupId, user_id: UserId) -> bool:
        """Asked fresh: an admin command is rare, and a promotion may be seconds old."""
        try:
            return (await self.messenger.membership(group_id, user_id)).is_admin
        except MessengerError as error:  # cannot tell: the command goes on, as before
            log.info("target.standing_unknown group=%s error=%s", group_id, error)
            return False

    async def _resolve(self, group_id: GroupId, target: Target) -> UserId:
        match target:
            case ById(user_id):
                return user_id
            case ByUsername(username):
                async with self.uow.begin(group_id) as tx:
                    found = await tx.members.find(group_id, username)
                if found is None:
                    raise TargetRefused(Refusal.UNKNOWN_USERNAME, username)
                return found
            case ByReply(on_behalf_of_chat=True):
                raise TargetRefused(Refusal.ANONYMOUS)
            case ByReply(author, message_id) if author == self.messenger.bot_id:
                async with self.uow.begin(group_id) as tx:
                    warned = await tx.restrictions.warned_by(group_id, message_id)
                if len(warned) > 1:
                    raise TargetRefused(Refusal.SEVERAL_WARNED)
                if not warned:
                    raise TargetRefused(Refusal.THE_BOT)
                return warned[0]
            case ByReply(author):
                return author
