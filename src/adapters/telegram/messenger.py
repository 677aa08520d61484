"""The `Messenger` port over python-telegram-bot: Bot API calls in, domain values out.

Every Telegram exception is translated at this boundary (`error_translation`), so use cases see
only `application.errors`. Pacing and retries (429, network) happen below, in the bot's rate
limiter (`rate_limiter.TelegramRateLimiter`), when the bot is an `ExtBot` built with one.

The composition root (`bootstrap.bot`) builds it on the PTB application's bot, whose builder
sets the rate limiter and `TELEGRAM_API_URL`.
"""

import json
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
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError, TimedOut
from telegram.ext import ExtBot

from adapters.telegram.error_translation import TARGET_IS_ADMIN, describes, translate
from adapters.telegram.i18n import texts
from adapters.telegram.lost_sends import LostSends
from adapters.telegram.notices import log_batch_html, member_notice_html, notice_html
from adapters.telegram.rate_limiter import CallOptions
from adapters.telegram.texts import (
    gate_invitation_html,
    gate_invitation_keyboard,
    gate_note_html,
    raid_notice_html,
    raid_notice_keyboard,
    warning_html,
    warning_keyboard,
)
from application.errors import MessageGone, MessengerUnavailable
from application.ports.messenger import (
    AdminNotice,
    ChatInfo,
    ChatKind,
    ChatRights,
    GateInvitation,
    GateNote,
    LogBatch,
    MemberNotice,
    Messenger,
    MuteWarning,
    RaidNotice,
)
from application.ports.send_budget import Priority
from domain.answers import Answer
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.membership import Membership, MemberStatus
from domain.policy import ChannelRef

INVITE_LINK_NAME_MAX = 32
"""Telegram's limit on an invite link's name."""

_ALREADY_GONE = ("message to delete not found",)
_NO_SUCH_TOPIC = ("message thread not found", "topic_closed", "topic_deleted")
_NOT_MODIFIED = ("message is not modified",)
_NOTHING_TO_EDIT = ("message to edit not found",)


class TelegramMessenger(Messenger):
    """The bot's hands and eyes in Telegram, through a python-telegram-bot `Bot`.

    Attributes:
        bot: The PTB bot every call goes through (an `ExtBot` with `TelegramRateLimiter` in
            production, so sends are paced and 429s and network errors retried).
        lost: The message ids known per chat and the sends that timed out there (rule 11: the
            copy a timed-out send delivered after all is looked for and deleted); the update
            processor tells it of every message the bot receives.
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
        self.lost = LostSends()

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
        self.lost.saw(chat_id, message_id)
        try:
            await self.bot.delete_message(chat_id, message_id)
        except BadRequest as error:
            if describes(error, _ALREADY_GONE):
                return
            raise translate(error, chat_id=chat_id) from error
        except TelegramError as error:
            raise translate(error, chat_id=chat_id) from error

    # --- the join gate ----------------------------------------------------------------------

    async def approve_join_request(self, group_id: GroupId, user_id: UserId) -> None:
        await _call(
            self.bot.approve_chat_join_request(group_id, user_id),
            chat_id=group_id,
            user_id=user_id,
        )

    async def decline_join_request(self, group_id: GroupId, user_id: UserId) -> None:
        await _call(
            self.bot.decline_chat_join_request(group_id, user_id),
            chat_id=group_id,
            user_id=user_id,
        )

    async def send_gate_invitation(self, invitation: GateInvitation) -> MessageId:
        # An answer to a person: it goes before warnings, and counts against the overall pace.
        sent = await _call(
            self.bot.send_message(
                invitation.user_chat_id,
                gate_invitation_html(invitation, texts(invitation.language)),
                parse_mode=ParseMode.HTML,
                reply_markup=gate_invitation_keyboard(invitation, texts(invitation.language)),
                disable_web_page_preview=True,
                **_paced(self.bot, Priority.ANSWER),
            ),
            chat_id=invitation.user_chat_id,
        )
        return MessageId(sent.message_id)

    async def show_gate_note(self, note: GateNote) -> None:
        try:
            await self.bot.edit_message_text(
                gate_note_html(note, texts(note.language)),
                chat_id=note.user_chat_id,
                message_id=note.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=None,
            )
        except TelegramError as error:
            raise translate(error, chat_id=note.user_chat_id) from error

    # --- sending ----------------------------------------------------------------------------

    async def send_warning(self, warning: MuteWarning) -> MessageId:
        return await self._post(
            warning.group_id,
            warning_html(warning, texts(warning.language)),
            warning_keyboard(warning, texts(warning.language), self.bot.username),
            thread_id=warning.thread_id,
            priority=Priority.WARNING,
        )

    async def send_answer(self, group_id: GroupId, answer: Answer) -> MessageId:
        keyboard = None
        if answer.keyboard is not None:
            keyboard = InlineKeyboardMarkup.de_json(json.loads(answer.keyboard), self.bot)
        return await self._post(
            group_id,
            answer.html,
            keyboard,
            thread_id=answer.thread_id,
            priority=Priority.ANSWER,
            previews=False,
        )

    async def notify_admins(self, notice: AdminNotice) -> None:
        await self._post(
            notice.group_id,
            notice_html(notice, texts(notice.language)),
            None,
            thread_id=None,
            priority=Priority.NOTICE,
        )

    async def send_raid_notice(self, notice: RaidNotice) -> MessageId:
        return await self._post(
            notice.group_id,
            raid_notice_html(notice, texts(notice.language)),
            raid_notice_keyboard(notice, texts(notice.language), self.bot.username),
            thread_id=None,
            priority=Priority.WARNING,
        )

    async def edit_raid_notice(self, notice: RaidNotice, message_id: MessageId) -> None:
        chat_id = notice.group_id
        try:
            await self.bot.edit_message_text(
                raid_notice_html(notice, texts(notice.language)),
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=raid_notice_keyboard(
                    notice, texts(notice.language), self.bot.username
                ),
            )
        except BadRequest as error:
            if describes(error, _NOT_MODIFIED):
                return
            if describes(error, _NOTHING_TO_EDIT):
                raise MessageGone(chat_id, message_id) from error
            raise translate(error, chat_id=chat_id) from error
        except TelegramError as error:
            raise translate(error, chat_id=chat_id) from error

    async def post_log(self, batch: LogBatch) -> None:
        await self._post(
            batch.channel_id,
            log_batch_html(batch, texts(batch.language)),
            None,
            thread_id=None,
            priority=Priority.NOTICE,
        )

    async def tell_member(self, notice: MemberNotice) -> None:
        await self._post(
            notice.user_id,
            member_notice_html(notice, texts(notice.language)),
            None,
            thread_id=None,
            priority=Priority.NOTICE,
        )

    async def _post(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        thread_id: int | None,
        priority: Priority,
        previews: bool = True,
    ) -> MessageId:
        # Answers to people go before these into a chat (the limiter's priorities); a plain
        # `Bot` (no limiter) takes no `rate_limit_args`.
        paced = _paced(self.bot, priority)
        if not previews:
            paced["link_preview_options"] = LinkPreviewOptions(is_disabled=True)
        send = self.lost.begin(chat_id, markup)
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
        except TimedOut as error:  # perhaps delivered: sent again, and this copy looked for
            self.lost.timed_out(send)
            raise translate(error, chat_id=chat_id) from error
        except TelegramError as error:
            self.lost.failed(send)
            raise translate(error, chat_id=chat_id) from error
        except BaseException:
            self.lost.failed(send)
            raise
        self.lost.succeeded(send)
        self.lost.sent(chat_id, sent.message_id)
        if self.lost.pending(chat_id):  # sent again: the lost copy is below this one
            await self.lost.sweep(self.bot, chat_id, due_only=False)
        return MessageId(sent.message_id)

    async def retire_lost_sends(self) -> None:
        for chat_id in self.lost.chats_due():
            await self.lost.sweep(self.bot, chat_id)


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
