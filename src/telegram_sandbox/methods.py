"""The Bot API methods the sandbox implements, with Telegram's semantics and error answers."""

import asyncio
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import attrs

from telegram_sandbox.errors import ApiError, bad_request, forbidden
from telegram_sandbox.limits import FloodControl
from telegram_sandbox.params import Params
from telegram_sandbox.record import Json
from telegram_sandbox.state import (
    Chat,
    ChatType,
    Member,
    Message,
    Permissions,
    Status,
    WebhookConfig,
    World,
)
from telegram_sandbox.text import format_text, utf16_len

MAX_TEXT = 4096
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
_BAD_KEYBOARD = (
    'can\'t parse inline keyboard button: field "inline_keyboard" of the InlineKeyboardMarkup '
    "must be an Array of Arrays"
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_RESTRICT_FOREVER_BELOW = 30
_RESTRICT_FOREVER_ABOVE = 366 * 86_400


@attrs.frozen
class Answer:
    """A successful answer: the `result`, and the envelope's optional `description`."""

    result: Any
    description: str | None = None


type Handler = Callable[[Params], Awaitable[Answer]]


class BotApi:
    """The methods, bound to the world they act on.

    Attributes:
        world: The state the methods read and change.
        flood: The flood limits applied to sent messages.
    """

    def __init__(self, world: World, flood: FloodControl) -> None:
        self.world = world
        self.flood = flood
        self.closing = False
        self._wake = asyncio.Event()
        self._poll_generation = 0
        self.polls_waiting = 0
        world.on_update = self.wake
        self._handlers: dict[str, Handler] = {
            name.lower(): getattr(self, "api_" + _snake(name))
            for name in (
                "getMe",
                "getUpdates",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "sendMessage",
                "editMessageText",
                "editMessageReplyMarkup",
                "deleteMessage",
                "getChat",
                "getChatMember",
                "getChatAdministrators",
                "getChatMemberCount",
                "restrictChatMember",
                "banChatMember",
                "unbanChatMember",
                "approveChatJoinRequest",
                "declineChatJoinRequest",
                "createChatInviteLink",
                "exportChatInviteLink",
                "answerCallbackQuery",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "logOut",
                "close",
            )
        }

    def handler(self, method: str) -> Handler | None:
        """The implementation of `method` (matched case-insensitively), or None."""
        return self._handlers.get(method.lower())

    @property
    def methods(self) -> list[str]:
        """The implemented method names."""
        return sorted(self._handlers)

    def wake(self) -> None:
        """Wake long polls and the webhook sender (new updates, or shutdown)."""
        self._wake.set()
        self._wake = asyncio.Event()

    async def changed(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait up to `timeout` seconds for the next `wake()`."""
        event = self._wake
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass

    # --- lookups shared by the methods --------------------------------------------------------

    def _chat(self, params: Params, name: str = "chat_id") -> Chat:
        ref = params.chat_ref(name)
        chat = self.world.find_chat(ref)
        if chat is None:
            raise bad_request("chat not found")
        if chat.type is not ChatType.PRIVATE and chat.username is None:
            bot = self.world.bot_member(chat.id)
            if (
                bot.status is Status.LEFT
                and (chat.id, self.world.bot.id) not in self.world.members
            ):
                raise bad_request("chat not found")
        return chat

    def _user_id(self, params: Params) -> int:
        user_id = params.integer("user_id", required=True)
        assert user_id is not None
        if user_id not in self.world.users:
            raise bad_request("user not found")
        return user_id

    def _bot_in(self, chat: Chat) -> Member:
        """The bot's standing, or Telegram's 403 when it is not in the group or channel."""
        bot = self.world.bot_member(chat.id)
        kind = "channel" if chat.type is ChatType.CHANNEL else "supergroup"
        if bot.status is Status.KICKED:
            raise forbidden(f"bot was kicked from the {kind} chat")
        if not bot.joined:
            raise forbidden(f"bot is not a member of the {kind} chat")
        return bot

    def _supergroup_only(self, chat: Chat) -> None:
        if chat.type is not ChatType.SUPERGROUP:
            raise bad_request("method is available only for supergroups")

    def _member_list(self, chat: Chat) -> None:
        """Channels show their members only to an admin bot; groups to a member bot."""
        if chat.type is ChatType.CHANNEL:
            if not self.world.bot_member(chat.id).is_admin:
                raise bad_request("member list is inaccessible")
        elif chat.type is ChatType.SUPERGROUP:
            self._bot_in(chat)

    def _admin_right(self, chat: Chat, right: str, detail: str) -> None:
        bot = self._bot_in(chat)
        if not bot.right(right):
            raise bad_request(detail)

    def _message(self, chat: Chat, message_id: int, missing: str) -> Message:
        message = self.world.message(chat.id, message_id)
        if message is None:
            raise bad_request(missing)
        return message

    # --- bot --------------------------------------------------------------------------------

    async def api_get_me(self, params: Params) -> Answer:
        """getMe: the bot's User with its capabilities."""
        out = self.world.bot.to_api()
        out |= {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.world.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        return Answer(out)

    async def api_log_out(self, params: Params) -> Answer:
        """logOut: accepted and ignored (there is no cloud session to leave)."""
        return Answer(True)

    async def api_close(self, params: Params) -> Answer:
        """close: accepted and ignored."""
        return Answer(True)

    # --- updates ------------------------------------------------------------------------------

    async def api_get_updates(self, params: Params) -> Answer:
        """getUpdates: long polling with offset, limit, timeout and allowed_updates."""
        world = self.world
        if world.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.integer("offset")
        if offset is not None and offset > 0:
            world.confirm(offset)
        elif offset is not None and offset < 0:
            world.updates = world.updates[offset:]
        if params.has("allowed_updates"):
            world.allowed_updates = world.parse_allowed(
                _str_list(params.decoded("allowed_updates"))
            )
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = min(max(params.number("timeout") or 0.0, 0.0), 50.0)
        self._poll_generation += 1
        mine = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.polls_waiting += 1
        self.wake()
        try:
            while not world.updates and not self.closing:
                left = deadline - loop.time()
                if left <= 0:
                    break
                await self.changed(left)
                if mine != self._poll_generation:
                    raise ApiError(409, POLL_CONFLICT)
        finally:
            self.polls_waiting -= 1
        return Answer([u.to_api() for u in world.updates[:limit]])

    async def api_set_webhook(self, params: Params) -> Answer:
        """setWebhook: deliver updates by POST to a loopback URL (an empty URL removes it)."""
        world = self.world
        url = params.string("url") or ""
        if not url:
            return await self.api_delete_webhook(params)
        _check_webhook_url(url)
        secret = params.string("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.integer("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if params.flag("drop_pending_updates"):
            world.drop_pending()
        if params.has("allowed_updates"):
            world.allowed_updates = world.parse_allowed(
                _str_list(params.decoded("allowed_updates"))
            )
        world.webhook = WebhookConfig(url, secret, max_connections)
        self.wake()
        return Answer(True, "Webhook was set")

    async def api_delete_webhook(self, params: Params) -> Answer:
        """deleteWebhook: back to getUpdates, optionally dropping pending updates."""
        world = self.world
        if params.flag("drop_pending_updates"):
            world.drop_pending()
        if world.webhook is None:
            return Answer(True, "Webhook is already deleted")
        world.webhook = None
        self.wake()
        return Answer(True, "Webhook was deleted")

    async def api_get_webhook_info(self, params: Params) -> Answer:
        """getWebhookInfo: the webhook and its delivery state."""
        world = self.world
        hook = world.webhook
        out: Json = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(world.updates),
        }
        if hook is not None:
            out["max_connections"] = hook.max_connections
            out["ip_address"] = "127.0.0.1"
            if hook.last_error_date is not None:
                out["last_error_date"] = hook.last_error_date
                out["last_error_message"] = hook.last_error_message
            if world.allowed_updates:
                out["allowed_updates"] = sorted(world.allowed_updates)
        return Answer(out)

    # --- messages ----------------------------------------------------------------------------

    def _sendable_chat(self, params: Params) -> Chat:
        world = self.world
        ref = params.chat_ref()
        chat = world.find_chat(ref)
        if chat is None:
            if isinstance(ref, int) and ref in world.users:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if chat.type is ChatType.PRIVATE:
            if world.bot_member(chat.id).status is Status.KICKED:
                raise forbidden("bot was blocked by the user")
            if not world.may_message_privately(chat.id):
                raise forbidden("bot can't initiate conversation with a user")
            return chat
        bot = self._bot_in(chat)
        if chat.type is ChatType.CHANNEL:
            if not bot.right("can_post_messages"):
                raise bad_request("need administrator rights in the channel chat")
            return chat
        may_write = bot.is_admin or (
            chat.permissions.get("can_send_messages")
            if bot.status is Status.MEMBER
            else bot.permissions is not None and bot.permissions.get("can_send_messages")
        )
        if not may_write:
            raise bad_request("not enough rights to send text messages to the chat")
        return chat

    async def api_send_message(self, params: Params) -> Answer:
        """sendMessage: text with entities, reply, forum topic and inline keyboard."""
        world = self.world
        chat = self._sendable_chat(params)
        raw = params.string("text")
        if raw is None or not raw.strip():
            raise bad_request("message text is empty")
        text, entities = format_text(
            raw, params.string("parse_mode"), _entity_list(params.decoded("entities"))
        )
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        reply_to, thread_id = self._reply_target(chat, params)
        markup = _inline_markup(params.decoded("reply_markup"))
        retry_after = self.flood.admit(chat.id, is_group=chat.type is not ChatType.PRIVATE)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        message = world.add_message(
            Message(
                chat_id=chat.id,
                message_id=0,
                date=world.now(),
                from_id=world.bot.id,
                sender_chat_id=chat.id if chat.type is ChatType.CHANNEL else None,
                text=text,
                entities=entities,
                reply_to=reply_to,
                thread_id=thread_id,
                is_topic_message=thread_id is not None,
                reply_markup=markup,
            )
        )
        return Answer(world.message_to_api(message))

    def _reply_target(self, chat: Chat, params: Params) -> tuple[int | None, int | None]:
        reply = params.decoded("reply_parameters")
        reply_to: int | None
        allow_missing = params.flag("allow_sending_without_reply")
        if isinstance(reply, dict):
            reply_json: Json = reply  # pyright: ignore[reportUnknownVariableType]
            reply_to = _as_int(reply_json.get("message_id"))
            allow_missing = bool(reply_json.get("allow_sending_without_reply", allow_missing))
        else:
            reply_to = params.integer("reply_to_message_id")
        thread_id = params.integer("message_thread_id")
        replied = None
        if reply_to is not None:
            replied = self.world.message(chat.id, reply_to)
            if replied is None:
                if not allow_missing:
                    raise bad_request("message to be replied not found")
                reply_to = None
        if thread_id is None and replied is not None and chat.is_forum:
            thread_id = replied.thread_id
        if thread_id is not None:
            topic = self.world.message(chat.id, thread_id)
            if not chat.is_forum or topic is None or "forum_topic_created" not in topic.service:
                raise bad_request("message thread not found")
            if reply_to is None:
                reply_to = thread_id
        return reply_to, thread_id

    async def api_edit_message_text(self, params: Params) -> Answer:
        """editMessageText: only the bot's own messages, and only when something changes."""
        world = self.world
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message_id = params.integer("message_id", required=True)
        assert message_id is not None
        message = self._message(chat, message_id, "message to edit not found")
        if message.from_id != world.bot.id or message.is_service or message.text is None:
            raise bad_request("message can't be edited")
        raw = params.string("text")
        if raw is None or not raw.strip():
            raise bad_request("message text is empty")
        text, entities = format_text(
            raw, params.string("parse_mode"), _entity_list(params.decoded("entities"))
        )
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = _inline_markup(params.decoded("reply_markup"))
        if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edit_date = world.now()
        return Answer(world.message_to_api(message))

    async def api_edit_message_reply_markup(self, params: Params) -> Answer:
        """editMessageReplyMarkup: only the bot's own messages, and only when the markup changes.

        Without `reply_markup` the keyboard is removed.
        """
        world = self.world
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message_id = params.integer("message_id", required=True)
        assert message_id is not None
        message = self._message(chat, message_id, "message to edit not found")
        if message.from_id != world.bot.id or message.is_service:
            raise bad_request("message can't be edited")
        markup = _inline_markup(params.decoded("reply_markup"))
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = world.now()
        return Answer(world.message_to_api(message))

    async def api_delete_message(self, params: Params) -> Answer:
        """deleteMessage: own messages anywhere; others' need can_delete_messages in groups."""
        world = self.world
        chat = self._chat(params)
        message_id = params.integer("message_id", required=True)
        assert message_id is not None
        message = self._message(chat, message_id, "message to delete not found")
        if chat.type is not ChatType.PRIVATE and message.from_id != world.bot.id:
            bot = world.bot_member(chat.id)
            if not bot.right("can_delete_messages"):
                raise bad_request("message can't be deleted")
        message.deleted = True
        return Answer(True)

    # --- chats and members -------------------------------------------------------------------

    async def api_get_chat(self, params: Params) -> Answer:
        """getChat: the ChatFullInfo of a chat the bot can see."""
        chat = self._chat(params)
        link = self.world.primary_link(chat.id)
        return Answer(chat.to_full_api(link.link if link else None))

    async def api_get_chat_member(self, params: Params) -> Answer:
        """getChatMember: a user's ChatMember (channels only for an admin bot)."""
        world = self.world
        chat = self._chat(params)
        self._member_list(chat)
        user_id = self._user_id(params)
        if chat.type is ChatType.PRIVATE:
            if user_id not in (chat.id, world.bot.id):
                raise bad_request("user not found")
            member = Member(user_id, Status.MEMBER)
        else:
            member = world.member(chat.id, user_id)
        return Answer(member.to_api(world.users[user_id], chat.type))

    async def api_get_chat_administrators(self, params: Params) -> Answer:
        """getChatAdministrators: the creator and administrators."""
        world = self.world
        chat = self._chat(params)
        if chat.type is ChatType.PRIVATE:
            raise bad_request("there are no administrators in the private chat")
        self._member_list(chat)
        admins = [m for m in world.chat_members(chat.id) if m.is_admin]
        admins.sort(key=lambda m: m.status is not Status.CREATOR)
        return Answer([m.to_api(world.users[m.user_id], chat.type) for m in admins])

    async def api_get_chat_member_count(self, params: Params) -> Answer:
        """getChatMemberCount: how many users are in the chat."""
        chat = self._chat(params)
        if chat.type is ChatType.PRIVATE:
            return Answer(2)
        return Answer(sum(1 for m in self.world.chat_members(chat.id) if m.joined))

    def _target(self, chat: Chat, params: Params, right: str, detail: str) -> tuple[int, Member]:
        self._admin_right(chat, right, detail)
        user_id = self._user_id(params)
        return user_id, self.world.member(chat.id, user_id)

    def _restrict_target(
        self, chat: Chat, params: Params, *, channels_too: bool = False
    ) -> tuple[int, Member]:
        """The member a restrict/ban/unban call is about, once the bot may restrict here.

        Restricting works in supergroups only; banning and unbanning in channels too.
        """
        if not channels_too:
            self._supergroup_only(chat)
        elif chat.type is ChatType.PRIVATE:
            raise bad_request("method is available for supergroup and channel chats only")
        return self._target(
            chat,
            params,
            "can_restrict_members",
            "not enough rights to restrict/unrestrict chat member",
        )

    async def api_restrict_chat_member(self, params: Params) -> Answer:
        """restrictChatMember: restricted with permissions, or member again when all granted."""
        world = self.world
        chat = self._chat(params)
        user_id, old = self._restrict_target(chat, params)
        if user_id == world.bot.id:
            raise bad_request("can't restrict self")
        if old.is_admin:
            raise bad_request("user is an administrator of the chat")
        raw = params.decoded("permissions")
        if not isinstance(raw, dict):
            raise bad_request("permissions are empty")
        data: Json = raw  # pyright: ignore[reportUnknownVariableType]
        independent = params.flag("use_independent_chat_permissions")
        permissions = Permissions.from_api(data, independent=independent)
        in_chat = old.joined
        if Permissions.lifts_everything(data, permissions):
            new = Member(user_id, Status.MEMBER if in_chat else Status.LEFT)
        else:
            new = Member(
                user_id,
                Status.RESTRICTED,
                permissions=permissions,
                is_member=in_chat,
                until_date=self._until(params.integer("until_date")),
                independent_permissions=independent,
            )
        world.set_member(chat.id, new, actor_id=world.bot.id)
        return Answer(True)

    def _until(self, until: int | None) -> int:
        """Telegram's rule: under 30 s or over 366 days from now means forever (0)."""
        if not until:
            return 0
        ahead = until - self.world.now()
        if ahead < _RESTRICT_FOREVER_BELOW or ahead > _RESTRICT_FOREVER_ABOVE:
            return 0
        return until

    async def api_ban_chat_member(self, params: Params) -> Answer:
        """banChatMember: kicked (until_date honoured); revoke_messages deletes their messages."""
        world = self.world
        chat = self._chat(params)
        user_id, old = self._restrict_target(chat, params, channels_too=True)
        if old.status is Status.CREATOR:
            raise bad_request("can't remove chat owner")
        if old.status is Status.ADMINISTRATOR:
            raise bad_request("user is an administrator of the chat")
        if user_id == world.bot.id:
            raise bad_request("can't remove chat owner")
        new = Member(user_id, Status.KICKED, until_date=self._until(params.integer("until_date")))
        world.set_member(chat.id, new, actor_id=world.bot.id)
        if old.joined and chat.type is ChatType.SUPERGROUP:
            self._service(chat, world.bot.id, {"left_chat_member": world.users[user_id].to_api()})
        if params.flag("revoke_messages"):
            for message in world.messages.get(chat.id, {}).values():
                if message.from_id == user_id:
                    message.deleted = True
        return Answer(True)

    async def api_unban_chat_member(self, params: Params) -> Answer:
        """unbanChatMember: kicked → left; without only_if_banned it also removes a member."""
        world = self.world
        chat = self._chat(params)
        user_id, old = self._restrict_target(chat, params, channels_too=True)
        if params.flag("only_if_banned"):
            if old.status is Status.KICKED:
                world.set_member(chat.id, Member(user_id, Status.LEFT), actor_id=world.bot.id)
            return Answer(True)
        if old.status is Status.CREATOR:
            raise bad_request("can't remove chat owner")
        if old.status is Status.ADMINISTRATOR:
            raise bad_request("user is an administrator of the chat")
        if old.status is not Status.LEFT:
            world.set_member(chat.id, Member(user_id, Status.LEFT), actor_id=world.bot.id)
            if old.joined and chat.type is ChatType.SUPERGROUP:
                user = world.users[user_id].to_api()
                self._service(chat, world.bot.id, {"left_chat_member": user})
        return Answer(True)

    def _service(self, chat: Chat, actor_id: int, service: Json) -> Message:
        return self.world.add_message(
            Message(chat.id, 0, self.world.now(), actor_id, service=service)
        )

    # --- join requests and invite links -------------------------------------------------------

    async def api_approve_chat_join_request(self, params: Params) -> Answer:
        """approveChatJoinRequest: the requester becomes a member (needs can_invite_users)."""
        world = self.world
        chat = self._chat(params)
        user_id, old = self._target(chat, params, "can_invite_users", "CHAT_ADMIN_REQUIRED")
        request = world.join_requests.get((chat.id, user_id))
        if request is None:
            if old.joined:
                raise bad_request("USER_ALREADY_PARTICIPANT")
            raise bad_request("HIDE_REQUESTER_MISSING")
        del world.join_requests[(chat.id, user_id)]
        link = world.invite_links.get(request.invite_link or "")
        new = (
            attrs.evolve(old, is_member=True)
            if old.status is Status.RESTRICTED
            else Member(user_id, Status.MEMBER)
        )
        # the approver performed the change; via_join_request marks requests made without a link
        world.set_member(
            chat.id, new, actor_id=world.bot.id, invite_link=link, via_join_request=link is None
        )
        if chat.type is ChatType.SUPERGROUP:
            user = world.users[user_id].to_api()
            self._service(chat, user_id, {"new_chat_members": [user]})
        return Answer(True)

    async def api_decline_chat_join_request(self, params: Params) -> Answer:
        """declineChatJoinRequest: the request is dropped (needs can_invite_users)."""
        world = self.world
        chat = self._chat(params)
        user_id, _ = self._target(chat, params, "can_invite_users", "CHAT_ADMIN_REQUIRED")
        if world.join_requests.pop((chat.id, user_id), None) is None:
            raise bad_request("HIDE_REQUESTER_MISSING")
        return Answer(True)

    async def api_create_chat_invite_link(self, params: Params) -> Answer:
        """createChatInviteLink: an additional link (needs can_invite_users)."""
        world = self.world
        chat = self._chat(params)
        self._admin_right(chat, "can_invite_users", "not enough rights to manage chat invite link")
        name = params.string("name")
        if name is not None and len(name) > 32:
            raise bad_request("invite link name is too long")
        member_limit = params.integer("member_limit")
        creates_join_request = params.flag("creates_join_request")
        if member_limit is not None and creates_join_request:
            raise bad_request(
                "member limit can't be specified for links requiring administrator approval"
            )
        if member_limit is not None and not 1 <= member_limit <= 99_999:
            raise bad_request("invalid member limit specified")
        expire = params.integer("expire_date")
        if expire is not None and expire <= world.now():
            raise bad_request("invalid expire date specified")
        link = world.new_invite_link(
            chat.id,
            world.bot.id,
            creates_join_request=creates_join_request,
            name=name,
            expire_date=expire,
            member_limit=member_limit,
        )
        return Answer(world.invite_link_to_api(link))

    async def api_export_chat_invite_link(self, params: Params) -> Answer:
        """exportChatInviteLink: a new primary link; the previous primary link is revoked."""
        world = self.world
        chat = self._chat(params)
        self._admin_right(chat, "can_invite_users", "not enough rights to export chat invite link")
        return Answer(world.new_invite_link(chat.id, world.bot.id, primary=True).link)

    # --- callback queries and commands --------------------------------------------------------

    async def api_answer_callback_query(self, params: Params) -> Answer:
        """answerCallbackQuery: once per query, with optional text, alert and URL."""
        query_id = params.string("callback_query_id") or ""
        query = self.world.callback_queries.get(query_id)
        if query is None or query.answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.string("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.string("url"),
            "cache_time": params.integer("cache_time") or 0,
        }
        return Answer(True)

    def _scope_key(self, params: Params) -> tuple[str, str]:
        scope = params.decoded("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), params.string("language_code") or ""

    async def api_set_my_commands(self, params: Params) -> Answer:
        """setMyCommands: the command list for a scope and language."""
        commands = params.decoded("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        items: list[Any] = commands  # pyright: ignore[reportUnknownVariableType]
        if len(items) > 100:
            raise bad_request("too many commands specified")
        stored: list[Json] = []
        for item in items:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            entry: Json = item  # pyright: ignore[reportUnknownVariableType]
            command = str(entry.get("command", "")).removeprefix("/")
            description = str(entry.get("description", ""))
            if not _COMMAND_NAME.fullmatch(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": command, "description": description})
        key = self._scope_key(params)
        if stored:
            self.world.commands[key] = stored
        else:
            self.world.commands.pop(key, None)
        return Answer(True)

    async def api_get_my_commands(self, params: Params) -> Answer:
        """getMyCommands: the list set for exactly this scope and language ([] if none)."""
        return Answer(self.world.commands.get(self._scope_key(params), []))

    async def api_delete_my_commands(self, params: Params) -> Answer:
        """deleteMyCommands: removes the list of a scope and language."""
        self.world.commands.pop(self._scope_key(params), None)
        return Answer(True)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise bad_request("can't parse allowed_updates JSON array")
    items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
    return [str(item) for item in items]


def _entity_list(value: Any) -> list[Json] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise bad_request("can't parse entities JSON object")
    items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
    return [item for item in items if isinstance(item, dict)]


def _inline_markup(value: Any) -> Json | None:
    """The inline keyboard a message keeps (other keyboards do not show on the message)."""
    if not isinstance(value, dict):
        return None
    markup: Json = value  # pyright: ignore[reportUnknownVariableType]
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list):
        raise bad_request(_BAD_KEYBOARD)
    for row in rows:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(row, list):
            raise bad_request(_BAD_KEYBOARD)
        for button in row:  # pyright: ignore[reportUnknownVariableType]
            if not isinstance(button, dict):
                raise bad_request(_BAD_KEYBOARD)
            fields: Json = button  # pyright: ignore[reportUnknownVariableType]
            if not fields.get("text"):
                raise bad_request("BUTTON_TEXT_INVALID")
            data = fields.get("callback_data")
            if isinstance(data, str) and not 1 <= len(data.encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}


def _check_webhook_url(url: str) -> None:
    """Only loopback webhooks: the sandbox never sends traffic off this machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    host = parts.hostname
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise bad_request("bad webhook: the sandbox delivers webhooks only to loopback addresses")
