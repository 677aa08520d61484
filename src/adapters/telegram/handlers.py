"""Thin PTB handlers: Update → command → use case → reply. No business rules live here.

Enforcement runs in handler group -1, before any command handler, so a member who must be muted
is muted whatever they wrote; `ApplicationHandlerStop` then keeps their command from running.
The enforcement handlers count what each use case returned (`nezuko_enforcement_actions_total`).
"""

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import attrs
from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    ChatJoinRequestHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from adapters.metrics import UPDATES_FAILED, count_enforcement
from adapters.telegram import replies
from adapters.telegram.convert import caller_of, parse_user_id, person_of, sender_of
from adapters.telegram.i18n import Texts, texts
from adapters.telegram.messenger import membership_of
from adapters.telegram.plain_talk import PlainTalk
from adapters.telegram.texts import (
    GATE_VERIFY_PREFIX,
    LIST_PREFIX,
    LISTS,
    PRIVATE_SETTINGS_PREFIX,
    PRIVATE_VERIFY_PREFIX,
    SETTINGS_PREFIX,
    SETTINGS_START,
    VERIFY_PREFIX,
    configurable_groups_keyboard,
    my_mutes_html,
    my_mutes_keyboard,
    pages_keyboard,
    parse_gate_verify_data,
    parse_list_data,
    parse_private_settings_data,
    parse_private_verify_data,
    parse_settings_data,
    parse_verify_data,
    settings_keyboard,
)
from adapters.telegram.updates import update_id_of, update_type
from application.authorization import Caller
from application.errors import ApplicationError, NotPermitted, again_on_conflict
from application.paging import ListCommand
from application.targeting import ById, ByReply, ByUsername, Target
from application.use_cases.answer_in_group import AnswerCommand, AnswerInGroup
from application.use_cases.change_settings import ChangeSettings, SettingsCommand, SettingsResult
from application.use_cases.channel_member_changed import (
    ChannelMemberChanged,
    ChannelMemberUpdate,
)
from application.use_cases.check_rights import CheckCommand, CheckRights
from application.use_cases.choose_language import ChooseLanguage, LanguageQuery
from application.use_cases.control_raid import ControlRaid, RaidCommand, RaidOrder
from application.use_cases.enforce_membership import (
    EnforceCommand,
    EnforceMembership,
    Enforcement,
)
from application.use_cases.exempt_member import ExemptCommand, ExemptMember
from application.use_cases.explain_member import ExplainCommand, ExplainMember
from application.use_cases.gate_member_command import GateMemberCommand, MemberCommand
from application.use_cases.list_configurable_groups import ListConfigurableGroups
from application.use_cases.list_exempted import ListExempted
from application.use_cases.list_muted import ListMuted
from application.use_cases.on_bot_status_changed import BotStatusUpdate, OnBotStatusChanged
from application.use_cases.on_group_member_updated import (
    GroupMemberUpdate,
    OnGroupMemberUpdated,
)
from application.use_cases.on_join_request import JoinRequestCommand, OnJoinRequest
from application.use_cases.press_verify import PressVerify, PressVerifyCommand, VerifyOutcome
from application.use_cases.protect_group import ProtectCommand, ProtectGroup
from application.use_cases.remember_username import MemberSeen, RememberUsername
from application.use_cases.retire_stale_warning import RetireStaleWarning, StaleWarningCommand
from application.use_cases.set_log_channel import SetLogChannel, SetLogCommand
from application.use_cases.show_log import ShowLog
from application.use_cases.show_my_mutes import ShowMyMutes
from application.use_cases.show_status import ShowStatus, StatusCommand
from application.use_cases.unexempt_member import UnexemptCommand, UnexemptMember
from application.use_cases.unlink_channel import UnlinkChannel, UnlinkCommand
from application.use_cases.unprotect_group import UnprotectCommand, UnprotectGroup
from application.use_cases.verify_join_request import (
    GateVerifyCommand,
    GateVerifyOutcome,
    VerifyJoinRequest,
)
from domain.answers import Answer
from domain.errors import DomainError
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.language import DEFAULT_LANGUAGE, Language, private_language, reader_language
from domain.raid import raid_duration

log = logging.getLogger(__name__)

type Context = ContextTypes.DEFAULT_TYPE
type Handler = BaseHandler[Any, Context, None]
GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)
ENFORCEMENT_GROUP = -1
SEEN_GROUP = 1
"""Recording who wrote runs after the commands (handler group 0)."""
_REMOVED = frozenset(
    {
        Enforcement.RESTRICTED,
        Enforcement.RESTRICT_DEFERRED,
        Enforcement.FOREIGN_POST_DELETED,
        Enforcement.RESTRICTED_BY_SOMEONE_ELSE,
    }
)
"""Outcomes after which the message is gone: no command handler runs on it."""


class UsageError(Exception):
    """A command was written wrongly; the message says how to write it."""


@attrs.frozen
class Commands:
    """The use cases behind the admin commands."""

    protect: ProtectGroup
    unprotect: UnprotectGroup
    unlink: UnlinkChannel
    status: ShowStatus
    settings: ChangeSettings
    exempt: ExemptMember
    unexempt: UnexemptMember
    check: CheckRights
    explain: ExplainMember
    muted: ListMuted
    exempted: ListExempted
    log: ShowLog
    raid: ControlRaid
    setlog: SetLogChannel
    configurable: ListConfigurableGroups
    language: ChooseLanguage

    async def list_page(self, name: str, command: ListCommand, t: Texts) -> "Reply":
        """Page `command.page` of the list `name` (one of `LISTS`), with its page buttons."""
        match name:
            case "muted":
                muted = await self.muted.execute(command)
                page, text = muted.page, replies.muted_html(muted, t)
            case "exempted":
                exempted = await self.exempted.execute(command)
                page, text = exempted, replies.exempted_html(exempted, t)
            case _:
                logged = await self.log.execute(command)
                page, text = logged, replies.log_html(logged, t)
        return Reply(text, pages_keyboard(name, page.number, page.pages, t))


@attrs.frozen
class Events:
    """The use cases behind the updates the bot reacts to."""

    enforce: EnforceMembership
    group_member: OnGroupMemberUpdated
    channel_member: ChannelMemberChanged
    verify: PressVerify
    stale_warning: RetireStaleWarning
    answer: AnswerInGroup
    member_command: GateMemberCommand
    my_mutes: ShowMyMutes
    bot_status: OnBotStatusChanged
    join_request: OnJoinRequest
    gate_verify: VerifyJoinRequest
    usernames: RememberUsername
    language: ChooseLanguage


# --- events ----------------------------------------------------------------------------------


@attrs.frozen
class OnGroupMessage:
    """A new or edited message in a group: enforce rule 3.

    A reply to a warning of the bot's that is stale (rule 11) deletes that warning too. The
    sender is recorded here (once per member and username: a cache answers after that), except
    a command's, which `OnMemberSeen` records after the command ran, so recording never delays
    a command's answer.
    """

    enforce: EnforceMembership
    stale_warning: RetireStaleWarning
    usernames: RememberUsername

    async def __call__(self, update: Update, context: Context) -> None:
        """Judge the sender; stop other handlers if their message was removed."""
        message, user, chat = (
            update.effective_message,
            update.effective_user,
            update.effective_chat,
        )
        if message is None or user is None or chat is None:
            return
        thread = message.message_thread_id if message.is_topic_message else None
        command = is_command(message)
        removed = await judge_talk(
            self.enforce,
            self.usernames,
            EnforceCommand(
                GroupId(chat.id),
                sender_of(message, user),
                user.full_name,
                message_id=MessageId(message.message_id),
                thread_id=thread,
                language_code=user.language_code,
            ),
            user.username,
            by_a_person=message.sender_chat is None,
            a_command=command,
        )
        replied = message.reply_to_message
        posted_at = bot_warning_posted_at(replied, context.bot.id)
        if replied is not None and posted_at is not None:
            await self.stale_warning.execute(
                StaleWarningCommand(GroupId(chat.id), MessageId(replied.message_id), posted_at)
            )
        if removed or not command:
            # Removed, or plain talk that no later handler takes (a command may be one of
            # an admin's): PTB skips checking the ~20 handlers of group 0 one by one.
            raise ApplicationHandlerStop


@attrs.frozen
class OnPlainTalk:
    """Plain talk read without PTB's objects (`plain_talk.py`): `OnGroupMessage`'s hot path.

    No command, no reply to a warning, written by a person: enforcement and the sender's
    record are all there is to do, and no other handler takes it.
    """

    enforce: EnforceMembership
    usernames: RememberUsername

    async def __call__(self, talk: PlainTalk, context: Context) -> None:
        """Judge the sender and record them; stop the other handler groups."""
        await judge_talk(
            self.enforce,
            self.usernames,
            EnforceCommand(
                talk.chat_id,
                talk.sender,
                talk.full_name,
                message_id=talk.message_id,
                thread_id=talk.thread_id,
                language_code=talk.language_code,
            ),
            talk.username,
            by_a_person=True,
            a_command=False,
        )
        raise ApplicationHandlerStop


async def judge_talk(
    enforce: EnforceMembership,
    usernames: RememberUsername,
    command: EnforceCommand,
    username: str | None,
    *,
    by_a_person: bool,
    a_command: bool,
) -> bool:
    """Enforce rule 3 on a group message and record its sender; whether it was removed.

    A command's sender is recorded after the command ran (`OnMemberSeen`), so recording never
    delays a command's answer; a message sent on behalf of a chat has nobody to record.
    """
    outcome = await enforce.execute(command)
    count_enforcement("message", outcome.value)
    removed = outcome in _REMOVED
    if by_a_person and (removed or not a_command):  # no later handler sees it
        seen = MemberSeen(command.group_id, command.sender.user_id, username, muted=removed)
        await usernames.execute(seen)
    return removed


@attrs.frozen
class OnMemberSeen:
    """After every other handler: the sender of a command in a group is recorded.

    With their username, for `/exempt @username` and private `/settings`.
    """

    usernames: RememberUsername

    async def __call__(self, update: Update, context: Context) -> None:
        """Record the sender; costs nothing once the member is recorded."""
        message, user, chat = (
            update.effective_message,
            update.effective_user,
            update.effective_chat,
        )
        if message is None or user is None or chat is None or message.sender_chat is not None:
            return
        await self.usernames.execute(MemberSeen(GroupId(chat.id), UserId(user.id), user.username))


@attrs.frozen
class OnChatMember:
    """A member's status changed in a group (joins, promotions) or in a channel (rule 6)."""

    group_member: OnGroupMemberUpdated
    channel_member: ChannelMemberChanged
    usernames: RememberUsername

    async def __call__(self, update: Update, context: Context) -> None:
        """Route by the kind of chat."""
        change = update.chat_member
        if change is None:
            return
        old, new = membership_of(change.old_chat_member), membership_of(change.new_chat_member)
        member = person_of(change.new_chat_member.user)
        if change.chat.type == ChatType.CHANNEL:
            update_ = ChannelMemberUpdate(ChannelId(change.chat.id), member, old, new)
            changed = await self.channel_member.execute(update_)
            count_enforcement("channel_member", "lifted", len(changed.lifted))
            count_enforcement("channel_member", "restricted", len(changed.restricted))
            if not changed.lifted and not changed.restricted:
                count_enforcement("channel_member", "no_change")
        elif change.chat.type in GROUPS:
            result = await self.group_member.execute(
                GroupMemberUpdate(
                    GroupId(change.chat.id), member, old, new, UserId(change.from_user.id)
                )
            )
            count_enforcement("member_update", (result.enforcement or result.outcome).value)
            user = change.new_chat_member.user  # recorded after enforcement, never before it
            seen = MemberSeen(GroupId(change.chat.id), UserId(user.id), user.username)
            await self.usernames.execute(seen)


@attrs.frozen
class OnMyChatMember:
    """The bot's own standing changed in a group or a channel (added, removed, promoted…).

    Private chats (a user blocking or unblocking the bot) are not the bot's concern here.
    """

    bot_status: OnBotStatusChanged

    async def __call__(self, update: Update, context: Context) -> None:
        """Hand the change to the use case and count what it came to."""
        change = update.my_chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        outcome = await self.bot_status.execute(
            BotStatusUpdate(
                chat_id=change.chat.id,
                is_channel=change.chat.type == ChatType.CHANNEL,
                old=membership_of(change.old_chat_member),
                new=membership_of(change.new_chat_member),
                actor=UserId(change.from_user.id),
            )
        )
        count_enforcement("bot_status", outcome.value)


async def answer(query: CallbackQuery, text: str, *, show_alert: bool = False) -> None:
    """Answer a button press; one Telegram no longer takes (too old, after a restart) is logged.

    The press's work is done either way: only the toast is lost.
    """
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as error:
        log.info("press.answer_expired error=%s", error.message)


async def reader_texts(language: ChooseLanguage, group_id: GroupId, user: User | None) -> Texts:
    """The catalog for a text to `user` in a group (rule 15: the group's or their language)."""
    code = user.language_code if user is not None else None
    return texts(await language.execute(LanguageQuery(group_id, code)))


def own_texts(user: User | None) -> Texts:
    """The catalog for a private chat: always the person's own language (rule 15)."""
    return texts(private_language(user.language_code if user is not None else None))


@attrs.frozen
class Press[T]:
    """A button press whose data one of our parsers accepted."""

    query: CallbackQuery
    group_id: GroupId
    message_id: MessageId
    presser: UserId
    data: T


async def pressed[T](update: Update, parse: Callable[[str], T | None]) -> Press[T] | None:
    """The press with its data parsed, or None; any press not ours is answered "not valid".

    Not ours: data no parser accepts, a press with no data (a game's button) or with no message
    (a button of an inline-mode message, which the bot never sends).
    """
    query = update.callback_query
    if query is None:
        return None
    data = parse(query.data) if query.data is not None else None
    if data is None or query.message is None:
        await answer(query, own_texts(query.from_user).gettext(replies.INVALID_BUTTON))
        return None
    message = query.message
    return Press(
        query,
        GroupId(message.chat.id),
        MessageId(message.message_id),
        UserId(query.from_user.id),
        data,
    )


def bot_warning_posted_at(
    message: MaybeInaccessibleMessage | None, bot_id: int
) -> datetime | None:
    """When the bot posted `message`, if it is a warning of the bot's (it has our Verify button).

    `None` for any other message, and for one Telegram no longer shows the bot (too old).
    """
    if not isinstance(message, Message) or message.from_user is None:
        return None
    if message.from_user.id != bot_id or message.reply_markup is None:
        return None
    buttons = (b for row in message.reply_markup.inline_keyboard for b in row)
    verifies = [
        parse_verify_data(b.callback_data) for b in buttons if isinstance(b.callback_data, str)
    ]
    if not any(data is not None and not data.on_raid_notice for data in verifies):
        return None  # no warning's Verify (the raid notice is never a stale warning)
    return message.date


@attrs.frozen
class OnVerifyPressed:
    """The Verify button: it acts only on whoever pressed it (rule 5).

    A press on a stale warning of the bot's also deletes it (rule 11, `RetireStaleWarning`).
    """

    verify: PressVerify
    language: ChooseLanguage

    async def __call__(self, update: Update, context: Context) -> None:
        """Run the press and answer with what it came to, in the presser's language."""
        press = await pressed(update, parse_verify_data)
        if press is None:
            return
        posted_at = bot_warning_posted_at(press.query.message, context.bot.id)
        # The raid notice stays whoever it frees (rule 13): it is no one's warning.
        warning_id = None if press.data.on_raid_notice else press.message_id
        result = await self.verify.execute(
            PressVerifyCommand(
                press.group_id, press.presser, press.data.owner, warning_id, posted_at
            )
        )
        count_enforcement("verify", result.outcome.value)
        alert = result.outcome is VerifyOutcome.STILL_MISSING
        t = await reader_texts(self.language, press.group_id, press.query.from_user)
        await answer(press.query, replies.verify_answer(result, t), show_alert=alert)


@attrs.frozen
class OnSettingsPressed:
    """A button of the `/settings` menu: the presser must be allowed to configure the group."""

    settings: ChangeSettings
    language: ChooseLanguage

    async def __call__(self, update: Update, context: Context) -> None:
        """Change the setting, or say in an alert why not; show the menu's new state.

        In the presser's language, as it stands after the change (a new `language` shows).
        """
        press = await pressed(update, parse_settings_data)
        if press is None:
            return
        query, (key, value) = press.query, press.data
        command = SettingsCommand(press.group_id, Caller(press.presser), key, value)
        try:
            result = await again_on_conflict(lambda: self.settings.execute(command))
        except (ApplicationError, DomainError) as error:
            t = await reader_texts(self.language, press.group_id, query.from_user)
            await answer(query, replies.error_text(error, t), show_alert=True)
            return
        t = await reader_texts(self.language, press.group_id, query.from_user)
        await answer(query, replies.saved_answer(key, result.settings, t))
        keyboard = settings_keyboard(result.settings, t, bot_username=context.bot.username)
        shown = Reply(replies.settings_result_html(result, t), keyboard)
        await _show_in_place(query, shown, "settings.menu")


@attrs.frozen
class OnListPagePressed:
    """A page button of `/muted`, `/exempted` or `/log`: admins only, the message shows it."""

    commands: Commands

    async def __call__(self, update: Update, context: Context) -> None:
        """Show the page asked for in place, or say in an alert why not."""
        press = await pressed(update, parse_list_data)
        if press is None:
            return
        query, data = press.query, press.data
        command = ListCommand(press.group_id, Caller(press.presser), data.page)
        t = await reader_texts(self.commands.language, press.group_id, query.from_user)
        try:
            reply = await self.commands.list_page(data.name, command, t)
        except (ApplicationError, DomainError) as error:
            await answer(query, replies.error_text(error, t), show_alert=True)
            return
        await answer(query, "")
        await _show_in_place(query, reply, "list.page")


async def on_unknown_button(update: Update, context: Context) -> None:
    """Callback data none of our buttons carries (forged, or from an old version): say so."""
    await pressed(update, lambda _: None)  # no parser accepts anything here


@attrs.frozen
class OnJoinRequestReceived:
    """A request to join a chat: the join gate (rule 14) when the group has it on."""

    join_request: OnJoinRequest

    async def __call__(self, update: Update, context: Context) -> None:
        """Hand the request to the use case: approved, told in private, or left pending."""
        request = update.chat_join_request
        if request is None:
            return
        outcome = await self.join_request.execute(
            JoinRequestCommand(
                request.chat.id,
                UserId(request.from_user.id),
                is_channel=request.chat.type == ChatType.CHANNEL,
                user_chat_id=request.user_chat_id,
                language_code=request.from_user.language_code,
            )
        )
        log.info(
            "join_request",
            extra={
                "chat": request.chat.id,
                "user": request.from_user.id,
                "outcome": outcome.value,
            },
        )
        count_enforcement("join_request", outcome.value)


@attrs.frozen
class OnGateVerifyPressed:
    """Verify in the join gate's private message (rule 14): approve the presser's request."""

    gate_verify: VerifyJoinRequest

    async def __call__(self, update: Update, context: Context) -> None:
        """Run the press and answer with what it came to (an approval edits the message)."""
        query = update.callback_query
        if query is None:
            return
        group_id = parse_gate_verify_data(query.data) if query.data is not None else None
        t = own_texts(query.from_user)  # the gate's messages are private (rule 15)
        if group_id is None:
            await answer(query, t.gettext(replies.INVALID_BUTTON))
            return
        result = await self.gate_verify.execute(
            GateVerifyCommand(group_id, UserId(query.from_user.id))
        )
        count_enforcement("gate_verify", result.outcome.value)
        alert = result.outcome is GateVerifyOutcome.STILL_MISSING
        await answer(query, replies.gate_verify_answer(result, t), show_alert=alert)


# --- commands --------------------------------------------------------------------------------


@attrs.frozen
class Reply:
    """A command's reply: HTML, and a keyboard when it offers buttons."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


async def _show_in_place(query: CallbackQuery, reply: "Reply", what: str) -> None:
    """Show `reply` in the pressed message instead of what it said.

    Telegram refuses when nothing changed (the same button pressed twice) or the message is
    gone; the press's work is done either way, so that is logged, not raised.
    """
    try:
        await query.edit_message_text(
            reply.html,
            parse_mode=ParseMode.HTML,
            reply_markup=reply.keyboard,
            disable_web_page_preview=True,
        )
    except BadRequest as error:
        log.info("%s.not_updated error=%s", what, error.message)


type Run = Callable[[Message, Chat, Caller, Sequence[str], Texts], Awaitable[str | Reply]]


@attrs.frozen
class GroupCommand:
    """An admin command in a group: run it, reply, and delete both messages after a while.

    A member's attempt is deleted at once and answered at most once per member per cooldown
    (`GateMemberCommand`), so members cannot make the bot talk.
    """

    run: Run
    answer: AnswerInGroup
    gate: GateMemberCommand
    language: ChooseLanguage

    async def __call__(self, update: Update, context: Context) -> None:
        """Reply with the outcome or with what went wrong."""
        message, user, chat = (
            update.effective_message,
            update.effective_user,
            update.effective_chat,
        )
        if message is None or user is None or chat is None:
            return
        if chat.type not in GROUPS:
            await message.reply_text(
                own_texts(user).gettext(replies.WORKS_IN_GROUPS), do_quote=False
            )
            return
        group_id, command_id = GroupId(chat.id), MessageId(message.message_id)
        t = await reader_texts(self.language, group_id, user)  # the admin's (rule 15)
        try:
            caller, args = caller_of(message, user), context.args or []
            reply = await again_on_conflict(lambda: self.run(message, chat, caller, args, t))
        except NotPermitted as error:
            gated = MemberCommand(group_id, UserId(user.id), command_id)
            if await self.gate.execute(gated):  # the command is gone already
                await _reply(message, Reply(replies.error_html(error, t)), self.answer)
            return
        except (ApplicationError, DomainError) as error:
            reply = replies.error_html(error, t)
        except UsageError as error:
            reply = str(error)
        await _reply(message, reply, self.answer, command_id)


async def _reply(
    message: Message,
    reply: str | Reply,
    answer: AnswerInGroup,
    command_id: MessageId | None = None,
) -> None:
    """Answer in the group, now or once Telegram can take it.

    The answer, and the command if given, are deleted after a while.
    """
    if isinstance(reply, str):
        reply = Reply(reply)
    keyboard = None if reply.keyboard is None else json.dumps(reply.keyboard.to_dict())
    thread = message.message_thread_id if message.is_topic_message else None
    said = Answer(reply.html, keyboard, thread)
    await answer.execute(AnswerCommand(GroupId(message.chat.id), said, command_id))


def _target(message: Message, args: Sequence[str], usage: str, t: Texts) -> Target:
    """What a command points at: the replied-to message, a text mention, @username or an id.

    In a forum, a message that replies to nothing explicitly "replies" to its topic's opening
    service message: that is no reply. Who a reply to the bot's warning means, and who is
    refused, the use case decides (`application.targeting`).
    """
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.from_user is not None
        and replied.forum_topic_created is None
    ):
        on_behalf = replied.sender_chat is not None
        return ByReply(UserId(replied.from_user.id), MessageId(replied.message_id), on_behalf)
    for entity in message.entities:
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            return ById(UserId(entity.user.id))
    if args and args[0].startswith("@") and len(args[0]) > 1:
        return ByUsername(args[0][1:])
    typed = parse_user_id(args[0]) if args else None
    if typed is not None:
        return ById(typed)
    raise UsageError(f"{t.gettext(replies.NAME_THEM)}\n{usage}")


_FREE_TEXT = "warning_text"
"""The setting whose value is a text of its own, taken whole from the message."""


def _is_free_text(key: str) -> bool:
    return key.strip().lower().replace("-", "_") == _FREE_TEXT


def _text_after_key(text: str) -> str:
    """`/settings warning_text Hello {member}…` → `Hello {member}…` (lines kept)."""
    parts = text.split(maxsplit=2)
    return parts[2] if len(parts) > 2 else ""


def _settings_reply(message: Message, result: SettingsResult, t: Texts) -> "Reply":
    """The settings and their menu; a new language speaks at once, a new warning is previewed."""
    user = message.from_user
    changed = (result.changed or "").strip().lower().replace("-", "_")
    if changed == "language":
        code = user.language_code if user is not None else None
        t = texts(reader_language(result.settings.language, code))
    keyboard = settings_keyboard(result.settings, t, bot_username=message.get_bot().username)
    text = replies.settings_result_html(result, t)
    if changed == _FREE_TEXT and user is not None:
        # Rule 15: the admins see at once what members will see (in the admin's language).
        text = f"{text}\n\n{replies.preview_html(result, person_of(user), t)}"
    return Reply(text, keyboard)


def command_runs(commands: Commands) -> dict[str, Run]:
    """What each admin command does, replying with the catalog `t` (the admin's language)."""

    async def protect(
        _: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts
    ) -> str:
        command = ProtectCommand(GroupId(chat.id), chat.title or "", caller, tuple(args))
        return replies.protect_html(await commands.protect.execute(command), t)

    async def unprotect(
        _: Message, chat: Chat, caller: Caller, __: Sequence[str], t: Texts
    ) -> str:
        result = await commands.unprotect.execute(UnprotectCommand(GroupId(chat.id), caller))
        return replies.unprotect_html(result, t)

    async def unlink(_: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts) -> str:
        if len(args) != 1:
            raise UsageError(replies.usage("unlink", t))
        result = await commands.unlink.execute(UnlinkCommand(GroupId(chat.id), caller, args[0]))
        return replies.unlink_html(result, t)

    async def status(_: Message, chat: Chat, caller: Caller, __: Sequence[str], t: Texts) -> str:
        report = await commands.status.execute(StatusCommand(GroupId(chat.id), caller))
        return replies.status_html(report, t)

    async def settings(
        message: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts
    ) -> Reply:
        key, value = [*args, None, None][:2]
        if key is not None and _is_free_text(key):
            value = _text_after_key(message.text or "") or None  # as written, lines and all
        elif len(args) > 2:
            raise UsageError(replies.usage("settings", t))
        command = SettingsCommand(GroupId(chat.id), caller, key, value)
        return _settings_reply(message, await commands.settings.execute(command), t)

    async def exempt(
        message: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts
    ) -> str:
        target = _target(message, args, replies.usage("exempt", t), t)
        result = await commands.exempt.execute(ExemptCommand(GroupId(chat.id), caller, target))
        return replies.exempt_html(result, t)

    async def unexempt(
        message: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts
    ) -> str:
        target = _target(message, args, replies.usage("unexempt", t), t)
        command = UnexemptCommand(GroupId(chat.id), caller, target)
        removed = await commands.unexempt.execute(command)
        return replies.unexempt_html(removed, t)

    async def check(_: Message, chat: Chat, caller: Caller, __: Sequence[str], t: Texts) -> str:
        report = await commands.check.execute(CheckCommand(GroupId(chat.id), caller))
        return replies.check_html(report, t)

    async def why(
        message: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts
    ) -> str:
        target = _target(message, args, replies.usage("why", t), t)
        result = await commands.explain.execute(ExplainCommand(GroupId(chat.id), caller, target))
        return replies.explanation_html(result, t)

    async def raid(_: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts) -> str:
        order = {"on": RaidOrder.ON, "off": RaidOrder.OFF}.get(args[0].lower()) if args else None
        if (args and order is None) or len(args) > (2 if order is RaidOrder.ON else 1):
            raise UsageError(replies.usage("raid", t))
        lasting = raid_duration(args[1] if len(args) > 1 else None)
        command = RaidCommand(GroupId(chat.id), caller, order or RaidOrder.SHOW, lasting)
        return replies.raid_html(await commands.raid.execute(command), t)

    async def setlog(_: Message, chat: Chat, caller: Caller, args: Sequence[str], t: Texts) -> str:
        if len(args) != 1:
            raise UsageError(replies.usage("setlog", t))
        command = SetLogCommand(GroupId(chat.id), chat.title or "", caller, args[0])
        return replies.setlog_html(await commands.setlog.execute(command), t)

    def listing(name: str) -> Run:
        async def run(
            _: Message, chat: Chat, caller: Caller, __: Sequence[str], t: Texts
        ) -> Reply:
            return await commands.list_page(name, ListCommand(GroupId(chat.id), caller), t)

        return run

    return {
        **{name: listing(name) for name in LISTS},
        "protect": protect,
        "unprotect": unprotect,
        "unlink": unlink,
        "status": status,
        "settings": settings,
        "exempt": exempt,
        "unexempt": unexempt,
        "check": check,
        "why": why,
        "raid": raid,
        "setlog": setlog,
    }


@attrs.frozen
class OnStart:
    """/start and /help: a menu in private chat, a short pointer in groups.

    In private, a member the bot muted somewhere gets, instead, every such group with the
    channels to join and a Verify for each (rule 12); so does any message they write there. In
    a group it is gated like a member's command: deleted at once, answered once per member per
    cooldown, the answer deleted after a while.
    """

    answer: AnswerInGroup
    gate: GateMemberCommand
    my_mutes: ShowMyMutes
    configurable: ListConfigurableGroups
    language: ChooseLanguage

    async def __call__(self, update: Update, context: Context) -> None:
        """Answer in private; in a group, answer unless the member was answered lately."""
        message, chat = update.effective_message, update.effective_chat
        user = update.effective_user
        if message is None or chat is None:
            return
        if chat.type != ChatType.PRIVATE:
            sender = UserId(user.id) if user is not None else UserId(chat.id)
            gated = MemberCommand(GroupId(chat.id), sender, MessageId(message.message_id))
            if await self.gate.execute(gated):
                t = await reader_texts(self.language, GroupId(chat.id), user)
                await _reply(message, t.gettext(replies.GROUP_HELP), self.answer)
            return
        t = own_texts(user)
        if user is not None and context.args == [SETTINGS_START]:
            await _private_settings_list(message, self.configurable, UserId(user.id), t)
            return
        muted = await self.my_mutes.execute(UserId(user.id)) if user is not None else ()
        try:
            if muted:
                await message.reply_html(
                    my_mutes_html(muted, t),
                    reply_markup=my_mutes_keyboard(muted, t),
                    disable_web_page_preview=True,
                )
            elif message.text is not None and message.text.startswith("/"):
                await _private_help(message, context, t)
            else:
                await message.reply_html(t.gettext(replies.NOT_MUTED_ANYWHERE))
        except TelegramError as error:  # they blocked the bot, or the chat is gone
            log.info("private.reply_failed chat=%s error=%s", chat.id, error)


@attrs.frozen
class OnPrivateVerifyPressed:
    """Verify in the private chat (rule 12).

    The same rules as the group's, for the group the button names, acting only on the presser;
    after a lift the list is shown again as it now stands.
    """

    verify: PressVerify
    my_mutes: ShowMyMutes

    async def __call__(self, update: Update, context: Context) -> None:
        """Run the press, answer, and refresh the list in place."""
        query = update.callback_query
        if query is None:
            return
        group_id = parse_private_verify_data(query.data) if query.data is not None else None
        t = own_texts(query.from_user)  # a private chat (rule 15)
        if group_id is None or query.message is None:
            await answer(query, t.gettext(replies.INVALID_BUTTON))
            return
        presser = UserId(query.from_user.id)
        result = await self.verify.execute(PressVerifyCommand(group_id, presser, presser))
        count_enforcement("verify_private", result.outcome.value)
        alert = result.outcome is VerifyOutcome.STILL_MISSING
        await answer(query, replies.verify_answer(result, t), show_alert=alert)
        if result.outcome is not VerifyOutcome.LIFTED:
            return
        muted = await self.my_mutes.execute(presser)
        shown = (
            Reply(my_mutes_html(muted, t), my_mutes_keyboard(muted, t))
            if muted
            else Reply(t.gettext(replies.NOT_MUTED_ANYWHERE))
        )
        await _show_in_place(query, shown, "my_mutes")


async def _private_settings_list(
    message: Message, configurable: ListConfigurableGroups, user_id: UserId, t: Texts
) -> None:
    """The groups the user administers, each a button opening its settings (issue 11 point 7)."""
    groups = await configurable.execute(user_id)
    try:
        if groups:
            keyboard = configurable_groups_keyboard(groups)
            await message.reply_html(t.gettext(replies.CHOOSE_GROUP), reply_markup=keyboard)
        else:
            await message.reply_html(t.gettext(replies.NO_GROUP_TO_CONFIGURE))
    except TelegramError as error:  # they blocked the bot meanwhile
        log.info("private.reply_failed chat=%s error=%s", message.chat.id, error)


@attrs.frozen
class OnPrivateSettings:
    """`/settings` in a private chat: the groups the caller administers (issue 11 point 7)."""

    configurable: ListConfigurableGroups

    async def __call__(self, update: Update, context: Context) -> None:
        """List the groups, verified with Telegram."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        await _private_settings_list(message, self.configurable, UserId(user.id), own_texts(user))


@attrs.frozen
class OnPrivateSettingsPressed:
    """A button of the private settings menu: the list, a group's menu, or a change there.

    The group comes from the button; `ChangeSettings` asks Telegram, at the moment of each
    press, whether the presser may configure it (DESIGN §3: a verified admin's group).
    """

    settings: ChangeSettings
    configurable: ListConfigurableGroups

    async def __call__(self, update: Update, context: Context) -> None:
        """Show what was asked for in place, or say in an alert why not."""
        query = update.callback_query
        if query is None:
            return
        data = parse_private_settings_data(query.data) if query.data is not None else None
        t = own_texts(query.from_user)  # a private chat (rule 15)
        if data is None or query.message is None:
            await answer(query, t.gettext(replies.INVALID_BUTTON))
            return
        presser = UserId(query.from_user.id)
        if data.group_id is None:
            groups = await self.configurable.execute(presser)
            await answer(query, "")
            shown = (
                Reply(t.gettext(replies.CHOOSE_GROUP), configurable_groups_keyboard(groups))
                if groups
                else Reply(t.gettext(replies.NO_GROUP_TO_CONFIGURE))
            )
            await _show_in_place(query, shown, "private_settings.list")
            return
        key, value = data.change if data.change is not None else (None, None)
        command = SettingsCommand(data.group_id, Caller(presser), key, value)
        try:
            result = await again_on_conflict(lambda: self.settings.execute(command))
        except (ApplicationError, DomainError) as error:
            await answer(query, replies.error_text(error, t), show_alert=True)
            return
        await answer(query, replies.saved_answer(key, result.settings, t) if key else "")
        keyboard = settings_keyboard(result.settings, t, group_id=data.group_id)
        await _show_in_place(
            query,
            Reply(replies.private_settings_html(result, t), keyboard),
            "private_settings",
        )


async def _private_help(message: Message, context: Context, t: Texts) -> None:
    username = context.bot.username
    add = InlineKeyboardButton(
        t.gettext(replies.ADD_TO_GROUP), url=f"https://t.me/{username}?startgroup=true"
    )
    await message.reply_html(
        t.gettext(replies.PRIVATE_HELP), reply_markup=InlineKeyboardMarkup([[add]])
    )


# --- assembly --------------------------------------------------------------------------------


def is_command(message: Message) -> bool:
    """Whether the message starts with a bot command, as `CommandHandler` tells one."""
    entities = message.entities
    return (
        message.text is not None
        and bool(entities)
        and entities[0].type == MessageEntity.BOT_COMMAND
        and entities[0].offset == 0
    )


class GroupTalk(filters.UpdateFilter):
    """What people write in groups: `ChatType.GROUPS & ~StatusUpdate.ALL`, in fewer steps.

    `StatusUpdate.ALL` checks some thirty kinds of service message one by one; a message with
    text is none of them, and text is what the hot path sees.
    """

    __slots__ = ()

    def filter(self, update: Update) -> bool:
        """Whether the update's message is a group's or supergroup's, and not a service one."""
        message = update.effective_message
        if message is None or message.chat.type not in _GROUP_TYPES:
            return False
        return message.text is not None or not filters.StatusUpdate.ALL.check_update(update)


_GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


def telegram_handlers(events: Events, commands: Commands) -> list[tuple[Handler, int]]:
    """Every handler with its handler group.

    Group talk that is not a command ends at the enforcement handler (`OnGroupMessage` stops
    the other groups): no handler of group 0 may take it (a unit test holds that).
    """
    group_messages = GroupTalk()
    start = OnStart(
        events.answer,
        events.member_command,
        events.my_mutes,
        commands.configurable,
        events.language,
    )
    handlers: list[tuple[Handler, int]] = [
        (
            TypeHandler(PlainTalk, OnPlainTalk(events.enforce, events.usernames), strict=True),
            ENFORCEMENT_GROUP,
        ),
        (
            MessageHandler(
                group_messages,
                OnGroupMessage(events.enforce, events.stale_warning, events.usernames),
            ),
            ENFORCEMENT_GROUP,
        ),
        (
            ChatMemberHandler(
                OnChatMember(events.group_member, events.channel_member, events.usernames),
                ChatMemberHandler.CHAT_MEMBER,
            ),
            0,
        ),
        (
            ChatMemberHandler(OnMyChatMember(events.bot_status), ChatMemberHandler.MY_CHAT_MEMBER),
            0,
        ),
        (
            CallbackQueryHandler(
                OnVerifyPressed(events.verify, events.language), pattern=f"^{VERIFY_PREFIX}"
            ),
            0,
        ),
        (
            CallbackQueryHandler(
                OnSettingsPressed(commands.settings, commands.language),
                pattern=f"^{SETTINGS_PREFIX}",
            ),
            0,
        ),
        (
            CallbackQueryHandler(OnListPagePressed(commands), pattern=f"^{LIST_PREFIX}"),
            0,
        ),
        (
            CallbackQueryHandler(
                OnPrivateVerifyPressed(events.verify, events.my_mutes),
                pattern=f"^{PRIVATE_VERIFY_PREFIX}",
            ),
            0,
        ),
        (
            CallbackQueryHandler(
                OnGateVerifyPressed(events.gate_verify), pattern=f"^{GATE_VERIFY_PREFIX}"
            ),
            0,
        ),
        (
            CallbackQueryHandler(
                OnPrivateSettingsPressed(commands.settings, commands.configurable),
                pattern=f"^{PRIVATE_SETTINGS_PREFIX}",
            ),
            0,
        ),
        (CallbackQueryHandler(on_unknown_button), 0),
        (
            CommandHandler(
                "settings",
                OnPrivateSettings(commands.configurable),
                filters=filters.ChatType.PRIVATE,
            ),
            0,
        ),
        (ChatJoinRequestHandler(OnJoinRequestReceived(events.join_request)), 0),
        (CommandHandler(["start", "help"], start), 0),
        (MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND, start), 0),
        (
            MessageHandler(group_messages & filters.COMMAND, OnMemberSeen(events.usernames)),
            SEEN_GROUP,
        ),
    ]
    for name, run in command_runs(commands).items():
        command = GroupCommand(run, events.answer, events.member_command, commands.language)
        handlers.append((CommandHandler(name, command), 0))
    return handlers


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Command menus per scope (DESIGN §1) and per language (rule 15).

    Private chats, group members, group admins; English is every scope's default, and each
    other language is set for its ISO 639-1 code (Telegram's `language_code`).
    """
    bot = application.bot
    for language in Language:
        t = texts(language)
        code = None if language is DEFAULT_LANGUAGE else language.value.split("_", 1)[0]
        help_only = [BotCommand("help", t.gettext("What this bot does"))]
        await bot.set_my_commands(
            [BotCommand("start", t.gettext("Start here")), *help_only],
            scope=BotCommandScopeAllPrivateChats(),
            language_code=code,
        )
        await bot.set_my_commands(
            help_only, scope=BotCommandScopeAllGroupChats(), language_code=code
        )
        admin = [
            BotCommand(command.name, t.gettext(command.description))
            for command in replies.ADMIN_COMMANDS
        ]
        await bot.set_my_commands(
            admin, scope=BotCommandScopeAllChatAdministrators(), language_code=code
        )


async def on_error(update: object, context: Context) -> None:
    """The single error handler: log with the traceback; Sentry picks ERROR records up."""
    update_id = update_id_of(update)
    UPDATES_FAILED.labels(update_type(update)).inc()
    log.error("update.failed update_id=%s", update_id, exc_info=context.error)
