"""The sandbox's world: users, chats, memberships, messages, links, requests and pending updates.

Everything here is plain synchronous state; the server and the driver change it through `World`,
which also decides which updates Telegram would send the bot for each change.
"""

import enum
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import attrs

from telegram_sandbox.record import Json

GROUP_ANONYMOUS_BOT_ID = 1087968824
"""`from.id` of messages an anonymous group admin sends (@GroupAnonymousBot)."""
TELEGRAM_SERVICE_ID = 777000
"""`from.id` of messages a linked channel forwards into its discussion group automatically."""

OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
"""Update types sent only when named in `allowed_updates`; every other type is sent by default."""


class ChatType(enum.StrEnum):
    """The chat types the sandbox models (basic groups are not modelled)."""

    PRIVATE = "private"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class Status(enum.StrEnum):
    """ChatMember statuses, spelled as the Bot API spells them."""

    CREATOR = "creator"
    ADMINISTRATOR = "administrator"
    MEMBER = "member"
    RESTRICTED = "restricted"
    LEFT = "left"
    KICKED = "kicked"


@attrs.frozen
class User:
    """A Telegram account (a person or a bot)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    def to_api(self) -> Json:
        """The Bot API `User` object."""
        out: Json = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            out["last_name"] = self.last_name
        if self.username is not None:
            out["username"] = self.username
        if self.language_code is not None:
            out["language_code"] = self.language_code
        return out


PERMISSION_FIELDS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
)
_MEDIA_FIELDS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
)
_NEWER_FIELDS = frozenset({"can_react_to_messages", "can_edit_tag"})


@attrs.frozen
class Permissions:
    """What a restricted member (or every member, as chat defaults) may do."""

    values: tuple[tuple[str, bool], ...]

    @classmethod
    def all_allowed(cls) -> "Permissions":
        """Every permission granted."""
        return cls(tuple((name, True) for name in PERMISSION_FIELDS))

    @classmethod
    def none(cls) -> "Permissions":
        """Every permission denied (a muted member)."""
        return cls(tuple((name, False) for name in PERMISSION_FIELDS))

    @classmethod
    def from_api(cls, data: Json, *, independent: bool) -> "Permissions":
        """Parse a `ChatPermissions` object as restrictChatMember does.

        Absent fields are False. Unless `independent`, can_send_other_messages and
        can_add_web_page_previews imply the text and media permissions, and can_send_polls
        implies can_send_messages.
        """
        granted = {name: bool(data.get(name, False)) for name in PERMISSION_FIELDS}
        if not independent:
            if granted["can_send_other_messages"] or granted["can_add_web_page_previews"]:
                for name in _MEDIA_FIELDS:
                    granted[name] = True
            if granted["can_send_polls"]:
                granted["can_send_messages"] = True
        return cls(tuple((name, granted[name]) for name in PERMISSION_FIELDS))

    @staticmethod
    def lifts_everything(data: Json, parsed: "Permissions") -> bool:
        """True when a restrictChatMember call grants every permission (lifting the restriction).

        The two newest fields count only when the client sent them, so a client built for an
        older Bot API can still lift a restriction by granting everything it knows.
        """
        return all(
            granted or (name in _NEWER_FIELDS and name not in data)
            for name, granted in parsed.values
        )

    def get(self, name: str) -> bool:
        """Whether permission `name` is granted."""
        return dict(self.values)[name]

    def to_api(self) -> Json:
        """The fields as a `ChatPermissions` object (or to merge into ChatMemberRestricted)."""
        return dict(self.values)


ADMIN_RIGHT_FIELDS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_CHANNEL_RIGHT_FIELDS = ("can_post_messages", "can_edit_messages")
_GROUP_RIGHT_FIELDS = ("can_pin_messages", "can_manage_topics")


@attrs.frozen
class AdminRights:
    """An administrator's rights (`ChatMemberAdministrator` fields)."""

    can_manage_chat: bool = True
    can_delete_messages: bool = False
    can_manage_video_chats: bool = False
    can_restrict_members: bool = False
    can_promote_members: bool = False
    can_change_info: bool = False
    can_invite_users: bool = False
    can_post_stories: bool = False
    can_edit_stories: bool = False
    can_delete_stories: bool = False
    can_post_messages: bool = False
    can_edit_messages: bool = False
    can_pin_messages: bool = False
    can_manage_topics: bool = False
    is_anonymous: bool = False

    @classmethod
    def full(cls) -> "AdminRights":
        """Every right (what a creator has)."""
        return cls(**{f.name: f.name != "is_anonymous" for f in attrs.fields(cls)})

    @classmethod
    def moderator(cls) -> "AdminRights":
        """The rights a membership-enforcement bot needs: delete, restrict, invite, pin."""
        return cls(
            can_delete_messages=True,
            can_restrict_members=True,
            can_invite_users=True,
            can_pin_messages=True,
            can_post_messages=True,
        )

    def to_api(self, chat_type: ChatType) -> Json:
        """The rights as `ChatMemberAdministrator` fields for a chat of `chat_type`."""
        names = ADMIN_RIGHT_FIELDS + (
            _CHANNEL_RIGHT_FIELDS if chat_type is ChatType.CHANNEL else _GROUP_RIGHT_FIELDS
        )
        out: Json = {name: getattr(self, name) for name in names}
        out["is_anonymous"] = self.is_anonymous
        return out


@attrs.frozen
class Member:
    """One user's standing in one chat (a `ChatMember`).

    Attributes:
        user_id: The user.
        status: The ChatMember status.
        rights: Administrator rights (administrators only).
        permissions: What a restricted user may do (restricted only).
        is_member: For restricted users: whether they are in the chat right now.
        until_date: Unix time the restriction or ban ends; 0 means forever.
        custom_title: An admin's or creator's title.
        can_be_edited: Whether the bot may edit this administrator's rights.
        independent_permissions: The `use_independent_chat_permissions` the restriction used.
    """

    user_id: int
    status: Status
    rights: AdminRights | None = None
    permissions: Permissions | None = None
    is_member: bool = False
    until_date: int = 0
    custom_title: str | None = None
    can_be_edited: bool = False
    independent_permissions: bool | None = None

    @property
    def joined(self) -> bool:
        """True while the user is in the chat (creator, admin, member, restricted member)."""
        if self.status is Status.RESTRICTED:
            return self.is_member
        return self.status in (Status.CREATOR, Status.ADMINISTRATOR, Status.MEMBER)

    @property
    def is_admin(self) -> bool:
        """True for the creator and administrators."""
        return self.status in (Status.CREATOR, Status.ADMINISTRATOR)

    def right(self, name: str) -> bool:
        """Whether this member holds admin right `name` (the creator holds all)."""
        if self.status is Status.CREATOR:
            return True
        if self.status is Status.ADMINISTRATOR and self.rights is not None:
            return bool(getattr(self.rights, name))
        return False

    def to_api(self, user: User, chat_type: ChatType) -> Json:
        """The Bot API `ChatMember` object."""
        out: Json = {"user": user.to_api(), "status": str(self.status)}
        match self.status:
            case Status.CREATOR:
                out["is_anonymous"] = self.rights.is_anonymous if self.rights else False
                if self.custom_title:
                    out["custom_title"] = self.custom_title
            case Status.ADMINISTRATOR:
                rights = self.rights or AdminRights()
                out["can_be_edited"] = self.can_be_edited
                out.update(rights.to_api(chat_type))
                if self.custom_title:
                    out["custom_title"] = self.custom_title
            case Status.RESTRICTED:
                out["is_member"] = self.is_member
                out.update((self.permissions or Permissions.none()).to_api())
                out["until_date"] = self.until_date
            case Status.KICKED:
                out["until_date"] = self.until_date
            case Status.MEMBER | Status.LEFT:
                pass
        return out


@attrs.define
class Chat:
    """A private chat, supergroup or channel."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    linked_chat_id: int | None = None
    description: str | None = None
    join_by_request: bool = False
    permissions: Permissions = attrs.field(factory=Permissions.all_allowed)

    def to_api(self) -> Json:
        """The short Bot API `Chat` object (as inside messages and updates)."""
        out: Json = {"id": self.id, "type": str(self.type)}
        for name in ("title", "username", "first_name", "last_name"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.is_forum:
            out["is_forum"] = True
        return out

    def to_full_api(self, invite_link: str | None) -> Json:
        """The Bot API `ChatFullInfo` object getChat answers with."""
        out = self.to_api()
        out["accent_color_id"] = abs(self.id) % 7
        out["max_reaction_count"] = 11
        out["accepted_gift_types"] = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        if self.description is not None:
            out["description"] = self.description
        if self.linked_chat_id is not None:
            out["linked_chat_id"] = self.linked_chat_id
        if invite_link is not None:
            out["invite_link"] = invite_link
        if self.type is ChatType.SUPERGROUP:
            out["permissions"] = self.permissions.to_api()
            if self.join_by_request:
                out["join_by_request"] = True
        return out


@attrs.define
class Message:
    """A message as a chat shows it (service messages included)."""

    chat_id: int
    message_id: int
    date: int
    from_id: int | None
    sender_chat_id: int | None = None
    text: str | None = None
    entities: list[Json] = attrs.field(factory=list[Json])
    reply_to: int | None = None
    thread_id: int | None = None
    is_topic_message: bool = False
    reply_markup: Json | None = None
    is_automatic_forward: bool = False
    forward_origin: Json | None = None
    author_signature: str | None = None
    service: Json = attrs.field(factory=dict[str, Any])
    edit_date: int | None = None
    deleted: bool = False

    @property
    def is_service(self) -> bool:
        """True for service messages (joins, leaves, topic creation...)."""
        return bool(self.service)

    def buttons(self) -> list[Json]:
        """The inline keyboard's buttons, row by row flattened."""
        markup = self.reply_markup or {}
        rows: list[list[Json]] = markup.get("inline_keyboard", [])
        return [button for row in rows for button in row]


@attrs.define
class InviteLink:
    """A chat invite link."""

    link: str
    chat_id: int
    creator_id: int
    creates_join_request: bool = False
    is_primary: bool = False
    is_revoked: bool = False
    name: str | None = None
    expire_date: int | None = None
    member_limit: int | None = None
    uses: int = 0


@attrs.define
class JoinRequest:
    """A pending request to join a chat."""

    chat_id: int
    user_id: int
    date: int
    bio: str | None = None
    invite_link: str | None = None


@attrs.define
class CallbackQueryState:
    """A callback query the bot was sent and how it answered."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    answered: bool = False
    answer: Json = attrs.field(factory=dict[str, Any])


@attrs.frozen
class PendingUpdate:
    """An update waiting for the bot to confirm it."""

    update_id: int
    kind: str
    payload: Json

    def to_api(self) -> Json:
        """The Bot API `Update` object."""
        return {"update_id": self.update_id, self.kind: self.payload}


@attrs.define
class WebhookConfig:
    """The webhook the bot set, and the state of deliveries to it."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


def _optional_fields(message: Message) -> Json:
    out: Json = {}
    if message.author_signature is not None:
        out["author_signature"] = message.author_signature
    if message.forward_origin is not None:
        out["forward_origin"] = message.forward_origin
    if message.is_automatic_forward:
        out["is_automatic_forward"] = True
    return out


class World:
    """All sandbox state, and Telegram's rules for which changes produce which updates.

    Attributes:
        bot: The bot account the sandbox serves.
        privacy_mode: When True (Telegram's default) a non-admin bot in a group sees only
            commands, replies to its own messages and service messages.
        allowed_updates: What the bot last asked for (None: the default set).
        webhook: The webhook, when one is set.
        on_update: Called after every update is queued (wakes long polls and the webhook).
    """

    FIRST_UPDATE_ID: ClassVar[int] = 100_000_001
    """The lowest update id a world may start at."""

    def __init__(self, bot: User, *, clock: Callable[[], float] = time.time) -> None:
        self.bot = bot
        self.clock = clock
        self.privacy_mode = True
        self.users: dict[int, User] = {
            bot.id: bot,
            GROUP_ANONYMOUS_BOT_ID: User(
                GROUP_ANONYMOUS_BOT_ID, "Group", username="GroupAnonymousBot", is_bot=True
            ),
            TELEGRAM_SERVICE_ID: User(TELEGRAM_SERVICE_ID, "Telegram"),
        }
        self.chats: dict[int, Chat] = {}
        self.members: dict[tuple[int, int], Member] = {}
        self.messages: dict[int, dict[int, Message]] = {}
        self.invite_links: dict[str, InviteLink] = {}
        self.join_requests: dict[tuple[int, int], JoinRequest] = {}
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.commands: dict[tuple[str, str], list[Json]] = {}
        self.started: set[int] = set()
        self.updates: list[PendingUpdate] = []
        self.allowed_updates: frozenset[str] | None = None
        self.webhook: WebhookConfig | None = None
        self.on_update: Callable[[], None] = lambda: None
        # Like Telegram for a bot with no recent updates, a new world starts its update ids at
        # a random point: two worlds in one database never share ids.
        self._next_update_id = random.randrange(self.FIRST_UPDATE_ID, 2**31)
        self._next_message_id: dict[int, int] = {}
        self._counter = 0

    # --- basics ------------------------------------------------------------------------------

    def now(self) -> int:
        """The current Unix time, as message dates show it."""
        return int(self.clock())

    def unique(self) -> int:
        """A number never returned before (for ids of queries and links)."""
        self._counter += 1
        return self._counter

    def add_user(self, user: User) -> User:
        """Register an account."""
        self.users[user.id] = user
        return user

    def add_chat(self, chat: Chat) -> Chat:
        """Register a chat."""
        self.chats[chat.id] = chat
        self.messages.setdefault(chat.id, {})
        return chat

    def private_chat(self, user_id: int) -> Chat:
        """The bot's private chat with a user, opened if needed."""
        chat = self.chats.get(user_id)
        if chat is None:
            user = self.users[user_id]
            chat = self.add_chat(
                Chat(
                    id=user_id,
                    type=ChatType.PRIVATE,
                    first_name=user.first_name,
                    last_name=user.last_name,
                    username=user.username,
                )
            )
        return chat

    JOIN_REQUEST_DM_SECONDS: ClassVar[int] = 300

    def may_message_privately(self, user_id: int) -> bool:
        """Whether the bot may write to a user in private.

        Once the user has written to the bot, yes; otherwise only while one of their join
        requests is pending and less than 5 minutes old (ChatJoinRequest.user_chat_id).
        """
        if user_id in self.started:
            return True
        now = self.now()
        return any(
            r.user_id == user_id and now - r.date < self.JOIN_REQUEST_DM_SECONDS
            for r in self.join_requests.values()
        )

    def find_chat(self, ref: int | str) -> Chat | None:
        """A chat by numeric id or "@username"."""
        if isinstance(ref, str):
            name = ref.removeprefix("@").lower()
            return next(
                (c for c in self.chats.values() if (c.username or "").lower() == name), None
            )
        return self.chats.get(ref)

    def member(self, chat_id: int, user_id: int) -> Member:
        """A user's standing in a chat (status "left" when never recorded)."""
        return self.members.get((chat_id, user_id), Member(user_id, Status.LEFT))

    def bot_member(self, chat_id: int) -> Member:
        """The bot's own standing in a chat."""
        return self.member(chat_id, self.bot.id)

    def chat_members(self, chat_id: int) -> list[Member]:
        """Every recorded member of a chat, in the order they were recorded."""
        return [m for (c, _), m in self.members.items() if c == chat_id]

    # --- messages ----------------------------------------------------------------------------

    def message(self, chat_id: int, message_id: int) -> Message | None:
        """A message that still exists, or None."""
        found = self.messages.get(chat_id, {}).get(message_id)
        return None if found is None or found.deleted else found

    def add_message(self, message: Message, *, opens_topic: bool = False) -> Message:
        """Store a message, giving it the chat's next message id, and emit its update.

        With `opens_topic` the message starts a forum topic: its id becomes the thread id.
        """
        next_id = self._next_message_id.get(message.chat_id, 1)
        message.message_id = next_id
        if opens_topic:
            message.thread_id = next_id
            message.is_topic_message = True
        self._next_message_id[message.chat_id] = next_id + 1
        self.messages.setdefault(message.chat_id, {})[next_id] = message
        self._emit_message(message)
        return message

    def message_to_api(self, message: Message, *, with_reply: bool = True) -> Json:
        """The Bot API `Message` object."""
        chat = self.chats[message.chat_id]
        out: Json = {"message_id": message.message_id}
        if message.from_id is not None and chat.type is not ChatType.CHANNEL:
            out["from"] = self.users[message.from_id].to_api()
        if message.sender_chat_id is not None:
            out["sender_chat"] = self.chats[message.sender_chat_id].to_api()
        out["chat"] = chat.to_api()
        out["date"] = message.date
        if message.thread_id is not None:
            out["message_thread_id"] = message.thread_id
            if message.is_topic_message:
                out["is_topic_message"] = True
        out |= _optional_fields(message)
        if message.reply_to is not None and with_reply:
            replied = self.message(message.chat_id, message.reply_to)
            if replied is not None:
                out["reply_to_message"] = self.message_to_api(replied, with_reply=False)
        if message.edit_date is not None:
            out["edit_date"] = message.edit_date
        if message.text is not None:
            out["text"] = message.text
            if message.entities:
                out["entities"] = message.entities
        out.update(message.service)
        if message.reply_markup is not None:
            out["reply_markup"] = message.reply_markup
        return out

    def _emit_message(self, message: Message) -> None:
        chat = self.chats[message.chat_id]
        if message.from_id == self.bot.id:
            return
        if chat.type is ChatType.PRIVATE:
            self.publish("message", self.message_to_api(message))
            return
        bot = self.bot_member(chat.id)
        if chat.type is ChatType.CHANNEL:
            if bot.is_admin:
                self.publish("channel_post", self.message_to_api(message))
            return
        if not bot.joined:
            return
        if bot.is_admin or not self.privacy_mode or self._privacy_lets_through(message):
            self.publish("message", self.message_to_api(message))

    def _privacy_lets_through(self, message: Message) -> bool:
        if message.is_service:
            return True
        if any(e.get("type") == "bot_command" for e in message.entities):
            return True
        if message.reply_to is not None:
            replied = self.message(message.chat_id, message.reply_to)
            return replied is not None and replied.from_id == self.bot.id
        return False

    # --- membership --------------------------------------------------------------------------

    def set_member(
        self,
        chat_id: int,
        new: Member,
        *,
        actor_id: int,
        invite_link: InviteLink | None = None,
        via_join_request: bool = False,
    ) -> Member:
        """Record a user's new standing and emit chat_member / my_chat_member as Telegram does.

        Returns:
            The standing before the change.
        """
        old = self.member(chat_id, new.user_id)
        self.members[(chat_id, new.user_id)] = new
        if old == new:
            return old
        chat = self.chats[chat_id]
        user = self.users[new.user_id]
        payload: Json = {
            "chat": chat.to_api(),
            "from": self.users[actor_id].to_api(),
            "date": self.now(),
            "old_chat_member": old.to_api(user, chat.type),
            "new_chat_member": new.to_api(user, chat.type),
        }
        if invite_link is not None:
            payload["invite_link"] = self.invite_link_to_api(invite_link)
        if via_join_request:
            payload["via_join_request"] = True
        if new.user_id == self.bot.id:
            self.publish("my_chat_member", payload)
        elif chat.type is not ChatType.PRIVATE and self.bot_member(chat_id).is_admin:
            self.publish("chat_member", payload)
        return old

    def invite_link_to_api(self, link: InviteLink) -> Json:
        """The Bot API `ChatInviteLink` object."""
        out: Json = {
            "invite_link": link.link,
            "creator": self.users[link.creator_id].to_api(),
            "creates_join_request": link.creates_join_request,
            "is_primary": link.is_primary,
            "is_revoked": link.is_revoked,
        }
        if link.name is not None:
            out["name"] = link.name
        if link.expire_date is not None:
            out["expire_date"] = link.expire_date
        if link.member_limit is not None:
            out["member_limit"] = link.member_limit
        if link.creates_join_request:
            out["pending_join_request_count"] = sum(
                1 for r in self.join_requests.values() if r.invite_link == link.link
            )
        return out

    def new_invite_link(
        self,
        chat_id: int,
        creator_id: int,
        *,
        primary: bool = False,
        creates_join_request: bool = False,
        name: str | None = None,
        expire_date: int | None = None,
        member_limit: int | None = None,
    ) -> InviteLink:
        """Create an invite link (a new primary link revokes the previous primary one)."""
        if primary:
            for link in self.invite_links.values():
                if link.chat_id == chat_id and link.is_primary:
                    link.is_revoked = True
        code = f"{abs(chat_id) % 10_000:04d}{self.unique():06d}sandbox{creator_id % 997:03d}"
        link = InviteLink(
            link=f"https://t.me/+{code}",
            chat_id=chat_id,
            creator_id=creator_id,
            creates_join_request=creates_join_request,
            is_primary=primary,
            name=name,
            expire_date=expire_date,
            member_limit=member_limit,
        )
        self.invite_links[link.link] = link
        return link

    def primary_link(self, chat_id: int) -> InviteLink | None:
        """The chat's current primary invite link, if one was exported."""
        return next(
            (
                link
                for link in self.invite_links.values()
                if link.chat_id == chat_id and link.is_primary and not link.is_revoked
            ),
            None,
        )

    # --- updates -----------------------------------------------------------------------------

    def update_allowed(self, kind: str) -> bool:
        """Whether the bot's `allowed_updates` lets an update of `kind` be queued."""
        if not self.allowed_updates:
            return kind not in OPT_IN_UPDATES
        return kind in self.allowed_updates

    def publish(self, kind: str, payload: Json) -> PendingUpdate | None:
        """Queue an update for the bot, unless `allowed_updates` filters it out.

        As on Telegram, the filter applies when the update is created.
        """
        if not self.update_allowed(kind):
            return None
        update = PendingUpdate(self._next_update_id, kind, payload)
        self._next_update_id += 1
        self.updates.append(update)
        self.on_update()
        return update

    def confirm(self, offset: int) -> None:
        """Forget the updates below `offset` (the bot has them)."""
        self.updates = [u for u in self.updates if u.update_id >= offset]

    def drop_pending(self) -> None:
        """Forget every pending update (drop_pending_updates)."""
        self.updates.clear()

    @staticmethod
    def parse_allowed(kinds: Iterable[str] | None) -> frozenset[str] | None:
        """An `allowed_updates` parameter as stored (None for the default set)."""
        if kinds is None:
            return None
        stored = frozenset(kinds)
        return stored or None
