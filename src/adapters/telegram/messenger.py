"""The `Messenger` port over python-telegram-bot: Bot API calls in, domain values out.

Every Telegram exception is translated at this boundary (`error_translation`), so use cases see
only `application.errors`. Pacing and retries (429, network) happen below, in the bot's rate
limiter (`rate_limiter.TelegramRateLimiter`), when the bot is an `ExtBot` built with one.

The composition root (`bootstrap.bot`) builds it on the PTB application's bot, whose builder
sets the rate limiter and `TELEGRAM_API_URL`.
"""

from collections.abc import Awaitable
from typing import Any

from telegram import (
    Bot,
    ChatFullInfo,
    ChatMember,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    ChatPermissions,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from adapters.telegram.error_translation import TARGET_IS_ADMIN, describes, translate
from adapters.telegram.notices import log_batch_html, member_notice_html, notice_html
from adapters.telegram.rate_limiter import CallOptions, Priority
from adapters.telegram.texts import warning_html, warning_keyboard
from application.errors import MessengerUnavailable
from application.ports.messenger import (
    AdminNotice,
    ChatInfo,
    ChatKind,
    ChatRights,
    LogBatch,
    MemberNotice,
    Messenger,
    MuteWarning,
)
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.membership import Membership, MemberStatus
from domain.policy import ChannelRef

INVITE_LINK_NAME_MAX = 32
"""Telegram's limit on an invite link's name."""

_ALREADY_GONE = ("message to delete not found",)
_NO_SUCH_TOPIC = ("message thread not found", "topic_closed", "topic_deleted")


class TelegramMessenger(Messenger):
    """The bot's hands and eyes in Telegram, through a python-telegram-bot `Bot`.

    Attributes:
        bot: The PTB bot every call goes through (an `ExtBot` with `TelegramRateLimiter` in
            production, so sends are paced and 429s and network errors retried).
    """

    def __init__(self, bot: Bot, *, bot_id: UserId | None = None) -> None:
        """Wrap a bot.

        Args:
            bot: The PTB bot; it need not be initialized yet.
            bot_id: The bot's user id; by default the number before ":" in its token, which is
                how Telegram issues tokens.

        Raises:
            ValueError: No `bot_id` was given and the token does not start with one.
        """
        self.bot = bot
        if bot_id is None:
            prefix = bot.token.split(":", 1)[0]
            if not prefix.isdigit():
                raise ValueError("pass bot_id: the token does not start with the bot's id")
            bot_id = UserId(int(prefix))
        self._bot_id = bot_id

    @property
    def bot_id(self) -> UserId:
        return self._bot_id

    # --- reads ------------------------------------------------------------------------------

    async def membership(self, chat_id: int, user_id: UserId) -> Membership:
        member = await _call(
            self.bot.get_chat_member(chat_id, user_id), chat_id=chat_id, user_id=user_id
        )
        return membership_of(member)

    async def rights(self, chat_id: int, user_id: UserId) -> ChatRights:
        member = await _call(self.bot.get_chat_member(chat_id, user_id), chat_id=chat_id)
        return rights_of(member)

    async def admins(self, group_id: GroupId) -> frozenset[UserId]:
        admins = await _call(
            self.bot.get_chat_administrators(group_id, return_bots=True), chat_id=group_id
        )
        return frozenset(UserId(admin.user.id) for admin in admins)

    async def chat(self, ref: ChannelRef) -> ChatInfo:
        key: int | str = ref.channel_id if ref.channel_id is not None else f"@{ref.username}"
        found = await _call(
            self.bot.get_chat(key), chat_id=ref.channel_id or 0, reference=str(ref)
        )
        return chat_info_of(found)

    # --- moderation -------------------------------------------------------------------------

    async def create_invite_link(self, channel_id: ChannelId, name: str) -> str:
        link = await _call(
            self.bot.create_chat_invite_link(channel_id, name=name[:INVITE_LINK_NAME_MAX]),
            chat_id=channel_id,
        )
        return link.invite_link

    async def restrict(self, group_id: GroupId, user_id: UserId) -> None:
        await _call(
            self.bot.restrict_chat_member(
                group_id,
                user_id,
                ChatPermissions.no_permissions(),
                use_independent_chat_permissions=True,
            ),
            chat_id=group_id,
            user_id=user_id,
        )

    async def unrestrict(self, group_id: GroupId, user_id: UserId) -> None:
        # Granting every permission is how the Bot API lifts a restriction; independent
        # permissions so that no granted right is read as implying another.
        call = self.bot.restrict_chat_member(
            group_id,
            user_id,
            ChatPermissions.all_permissions(),
            use_independent_chat_permissions=True,
        )
        try:
            await call
        except BadRequest as error:
            if describes(error, TARGET_IS_ADMIN):
                return  # an admin has no restriction to lift (promotion lifted it)
            raise translate(error, chat_id=group_id, user_id=user_id) from error
        except TelegramError as error:
            raise translate(error, chat_id=group_id, user_id=user_id) from error

    async def kick(self, group_id: GroupId, user_id: UserId) -> None:
        # A ban removes the member; lifting it at once lets them come back later. If the lift
        # fails the caller sees the error and kicking again repeats both steps harmlessly.
        await _call(self.bot.ban_chat_member(group_id, user_id), chat_id=group_id, user_id=user_id)
        await _call(
            self.bot.unban_chat_member(group_id, user_id, only_if_banned=True),
            chat_id=group_id,
            user_id=user_id,
        )

    async def delete_message(self, chat_id: int, message_id: MessageId) -> None:
        try:
            await self.bot.delete_message(chat_id, message_id)
        except BadRequest as error:
            if describes(error, _ALREADY_GONE):
                return
            raise translate(error, chat_id=chat_id) from error
        except TelegramError as error:
            raise translate(error, chat_id=chat_id) from error

    # --- sending ----------------------------------------------------------------------------

    async def send_warning(self, warning: MuteWarning) -> MessageId:
        return await self._post(
            warning.group_id,
            warning_html(warning),
            warning,
            thread_id=warning.thread_id,
            priority=Priority.WARNING,
        )

    async def notify_admins(self, notice: AdminNotice) -> None:
        await self._post(
            notice.group_id, notice_html(notice), None, thread_id=None, priority=Priority.NOTICE
        )

    async def post_log(self, batch: LogBatch) -> None:
        await self._post(
            batch.channel_id,
            log_batch_html(batch),
            None,
            thread_id=None,
            priority=Priority.NOTICE,
        )

    async def tell_member(self, notice: MemberNotice) -> None:
        await self._post(
            notice.user_id,
            member_notice_html(notice),
            None,
            thread_id=None,
            priority=Priority.NOTICE,
        )

    async def _post(
        self,
        chat_id: int,
        text: str,
        warning: MuteWarning | None,
        *,
        thread_id: int | None,
        priority: Priority,
    ) -> MessageId:
        markup = warning_keyboard(warning, self.bot.username) if warning is not None else None
        # Answers to people go before these into a chat (the limiter's priorities); a plain
        # `Bot` (no limiter) takes no `rate_limit_args`.
        paced = _paced(self.bot, priority)
        try:
            try:
                sent = await self.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    message_thread_id=thread_id,
                    **paced,
                )
            except BadRequest as error:
                if thread_id is None or not describes(error, _NO_SUCH_TOPIC):
                    raise
                # The topic was closed or deleted meanwhile: say it in the general topic.
                sent = await self.bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup, **paced
                )
        except TelegramError as error:
            raise translate(error, chat_id=chat_id) from error
        return MessageId(sent.message_id)


def _paced(bot: Bot, priority: Priority) -> dict[str, Any]:
    """The priority for the limiter, for a bot that has one (a plain `Bot` takes no args)."""
    return {"rate_limit_args": CallOptions(priority)} if isinstance(bot, ExtBot) else {}


async def _call[T](
    call: Awaitable[T],
    *,
    chat_id: int,
    user_id: UserId | None = None,
    reference: str | None = None,
) -> T:
    """Await one Bot API call, translating Telegram's exceptions."""
    try:
        return await call
    except TelegramError as error:
        raise translate(error, chat_id=chat_id, user_id=user_id, reference=reference) from error


# --- mapping ----------------------------------------------------------------------------------


def membership_of(member: ChatMember) -> Membership:
    """A ChatMember as the domain's standing (rule 2: `is_member` kept for restricted users)."""
    if isinstance(member, ChatMemberRestricted):
        return Membership(MemberStatus.RESTRICTED, is_member=member.is_member)
    return Membership(status_of(member))


def status_of(member: ChatMember) -> MemberStatus:
    """The domain status of a ChatMember subclass."""
    match member:
        case ChatMemberOwner():
            return MemberStatus.CREATOR
        case ChatMemberAdministrator():
            return MemberStatus.ADMINISTRATOR
        case ChatMemberMember():
            return MemberStatus.MEMBER
        case ChatMemberRestricted():
            return MemberStatus.RESTRICTED
        case ChatMemberLeft():
            return MemberStatus.LEFT
        case ChatMemberBanned():
            return MemberStatus.KICKED
        case _:
            try:
                return MemberStatus(member.status)
            except ValueError:
                raise MessengerUnavailable(f"unknown member status {member.status!r}") from None


def rights_of(member: ChatMember) -> ChatRights:
    """A ChatMember's status and the admin rights enforcement needs (the creator has all)."""
    match member:
        case ChatMemberOwner():
            return ChatRights(
                MemberStatus.CREATOR,
                can_restrict_members=True,
                can_delete_messages=True,
                can_invite_users=True,
                can_post_messages=True,
            )
        case ChatMemberAdministrator():
            return ChatRights(
                MemberStatus.ADMINISTRATOR,
                can_restrict_members=member.can_restrict_members,
                can_delete_messages=member.can_delete_messages,
                can_invite_users=member.can_invite_users,
                can_post_messages=bool(member.can_post_messages),
            )
        case _:
            return ChatRights(status_of(member))


def chat_info_of(chat: ChatFullInfo) -> ChatInfo:
    """What getChat says about a chat, in the port's terms."""
    try:
        kind = ChatKind(chat.type)
    except ValueError:
        raise MessengerUnavailable(f"unknown chat type {chat.type!r}") from None
    title = chat.title or " ".join(n for n in (chat.first_name, chat.last_name) if n)
    return ChatInfo(chat.id, kind, title, chat.username)
