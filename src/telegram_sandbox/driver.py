"""The scenario driver: plays people in the sandbox and emits the updates Telegram would.

Every action changes the world as Telegram's apps would and queues the updates Telegram would
send the bot (subject to `allowed_updates`, admin-only chat_member delivery, privacy mode).
Actions a person could not do in Telegram raise `DriverError`.
"""

import attrs

from telegram_sandbox.errors import DriverError
from telegram_sandbox.record import Json
from telegram_sandbox.state import (
    GROUP_ANONYMOUS_BOT_ID,
    TELEGRAM_SERVICE_ID,
    AdminRights,
    CallbackQueryState,
    Chat,
    ChatType,
    InviteLink,
    JoinRequest,
    Member,
    Message,
    Permissions,
    Status,
    User,
    World,
)
from telegram_sandbox.text import detect_entities

type MessageRef = Message | int


class Driver:
    """Plays the people (and their apps) around the bot.

    Attributes:
        world: The sandbox state the driver acts on.
    """

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def bot(self) -> User:
        """The bot's account."""
        return self.world.bot

    # --- building the world ------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        """Create a person's account."""
        return self.world.add_user(
            User(user_id, first_name, last_name, username, language_code=language_code)
        )

    def supergroup(
        self,
        chat_id: int,
        title: str,
        *,
        owner_id: int,
        username: str | None = None,
        is_forum: bool = False,
        join_by_request: bool = False,
    ) -> Chat:
        """Create a supergroup owned (status creator) by `owner_id`."""
        chat = self.world.add_chat(
            Chat(
                chat_id,
                ChatType.SUPERGROUP,
                title=title,
                username=username,
                is_forum=is_forum,
                join_by_request=join_by_request,
            )
        )
        self.place(chat_id, Member(owner_id, Status.CREATOR))
        return chat

    def channel(
        self, chat_id: int, title: str, *, owner_id: int, username: str | None = None
    ) -> Chat:
        """Create a channel owned (status creator) by `owner_id`."""
        chat = self.world.add_chat(Chat(chat_id, ChatType.CHANNEL, title=title, username=username))
        self.place(chat_id, Member(owner_id, Status.CREATOR))
        return chat

    def link_discussion(self, channel_id: int, group_id: int) -> None:
        """Make `group_id` the channel's discussion group (posts are auto-forwarded there)."""
        self._chat(channel_id, ChatType.CHANNEL).linked_chat_id = group_id
        self._chat(group_id, ChatType.SUPERGROUP).linked_chat_id = channel_id

    def place(self, chat_id: int, member: Member) -> None:
        """Set a standing silently, emitting no update (for building a starting world)."""
        self._user(member.user_id)
        self.world.members[(chat_id, member.user_id)] = member

    # --- the bot's standing (my_chat_member) ---------------------------------------------------

    def add_bot(self, chat_id: int, *, by: int, rights: AdminRights | None = None) -> None:
        """An admin adds the bot to a group (as admin when `rights` is given) or a channel."""
        chat = self._chat(chat_id)
        self._require_admin(chat_id, by)
        if chat.type is ChatType.CHANNEL and rights is None:
            raise DriverError("bots can only be added to channels as administrators")
        new = (
            Member(self.bot.id, Status.MEMBER)
            if rights is None
            else Member(self.bot.id, Status.ADMINISTRATOR, rights=rights)
        )
        old = self.world.set_member(chat_id, new, actor_id=by)
        if chat.type is ChatType.SUPERGROUP and not old.joined:
            self._service(chat_id, by, {"new_chat_members": [self.bot.to_api()]})

    def promote_bot(self, chat_id: int, rights: AdminRights | None = None, *, by: int) -> None:
        """An admin makes the bot an administrator (or changes its rights): my_chat_member."""
        self._require_admin(chat_id, by)
        new = Member(self.bot.id, Status.ADMINISTRATOR, rights=rights or AdminRights.moderator())
        self.world.set_member(chat_id, new, actor_id=by)

    def demote_bot(self, chat_id: int, *, by: int) -> None:
        """An admin takes the bot's admin rights (in a channel that removes it): my_chat_member."""
        chat = self._chat(chat_id)
        self._require_admin(chat_id, by)
        status = Status.LEFT if chat.type is ChatType.CHANNEL else Status.MEMBER
        self.world.set_member(chat_id, Member(self.bot.id, status), actor_id=by)

    def remove_bot(self, chat_id: int, *, by: int) -> None:
        """An admin removes (bans) the bot: my_chat_member to kicked."""
        chat = self._chat(chat_id)
        self._require_admin(chat_id, by)
        self.world.set_member(chat_id, Member(self.bot.id, Status.KICKED), actor_id=by)
        if chat.type is ChatType.SUPERGROUP:
            self._service(chat_id, by, {"left_chat_member": self.bot.to_api()})

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: my_chat_member in their private chat (member → kicked)."""
        chat = self.world.private_chat(self._user(user_id).id)
        self.world.set_member(chat.id, Member(self.bot.id, Status.KICKED), actor_id=user_id)

    def unblock_bot(self, user_id: int) -> None:
        """The user unblocks the bot: my_chat_member in their private chat (kicked → member)."""
        chat = self.world.private_chat(self._user(user_id).id)
        self.world.set_member(chat.id, Member(self.bot.id, Status.MEMBER), actor_id=user_id)

    def promote(
        self,
        chat_id: int,
        user_id: int,
        rights: AdminRights | None = None,
        *,
        by: int,
        title: str | None = None,
    ) -> None:
        """An admin promotes a user: chat_member (to an admin bot) member → administrator."""
        self._require_admin(chat_id, by)
        new = Member(
            self._user(user_id).id,
            Status.ADMINISTRATOR,
            rights=rights or AdminRights(can_delete_messages=True, can_invite_users=True),
            custom_title=title,
            can_be_edited=by == self.bot.id,
        )
        self.world.set_member(chat_id, new, actor_id=by)

    def mute(self, chat_id: int, user_id: int, *, by: int) -> None:
        """An admin takes every send right from a member by hand: chat_member from that admin."""
        self._require_admin(chat_id, by)
        old = self.world.member(chat_id, self._user(user_id).id)
        if old.status in (Status.CREATOR, Status.ADMINISTRATOR):
            raise DriverError(f"user {user_id} is an administrator of chat {chat_id}")
        new = Member(
            user_id, Status.RESTRICTED, permissions=Permissions.none(), is_member=old.joined
        )
        self.world.set_member(chat_id, new, actor_id=by)

    def unmute(self, chat_id: int, user_id: int, *, by: int) -> None:
        """An admin lifts a member's restriction by hand: chat_member from that admin."""
        self._require_admin(chat_id, by)
        old = self.world.member(chat_id, self._user(user_id).id)
        if old.status is not Status.RESTRICTED:
            raise DriverError(f"user {user_id} is not restricted in chat {chat_id}")
        status = Status.MEMBER if old.is_member else Status.LEFT
        self.world.set_member(chat_id, Member(user_id, status), actor_id=by)

    # --- joining and leaving (chat_member + service messages) -----------------------------------

    def join(self, chat_id: int, user_id: int, *, invite_link: str | None = None) -> None:
        """The user joins a group or channel by themselves (by username or an invite link)."""
        chat = self._chat(chat_id)
        old = self.world.member(chat_id, self._user(user_id).id)
        link = self._usable_link(chat_id, invite_link)
        if old.joined:
            raise DriverError(f"user {user_id} is already in chat {chat_id}")
        if old.status is Status.KICKED:
            raise DriverError(f"user {user_id} is banned in chat {chat_id}")
        if (link is not None and link.creates_join_request) or (
            link is None and chat.join_by_request
        ):
            raise DriverError("this chat admits by join request: use request_join()")
        self._enter(chat, user_id, actor_id=user_id, link=link)

    def add(self, chat_id: int, user_id: int, *, by: int) -> None:
        """An admin adds a user to a group: chat_member from the admin, and a service message."""
        chat = self._chat(chat_id)
        self._require_admin(chat_id, by)
        if self.world.member(chat_id, self._user(user_id).id).joined:
            raise DriverError(f"user {user_id} is already in chat {chat_id}")
        self._enter(chat, user_id, actor_id=by, link=None)

    def _enter(self, chat: Chat, user_id: int, *, actor_id: int, link: InviteLink | None) -> None:
        old = self.world.member(chat.id, user_id)
        new = (
            attrs.evolve(old, is_member=True)
            if old.status is Status.RESTRICTED and actor_id == user_id
            else Member(user_id, Status.MEMBER)
        )
        self.world.set_member(chat.id, new, actor_id=actor_id, invite_link=link)
        if link is not None:
            link.uses += 1
        self.world.join_requests.pop((chat.id, user_id), None)
        if chat.type is ChatType.SUPERGROUP:
            user = self.world.users[user_id].to_api()
            self._service(chat.id, actor_id, {"new_chat_members": [user]})

    def leave(self, chat_id: int, user_id: int) -> None:
        """The user leaves: chat_member to left (a restricted user stays restricted, not in)."""
        chat = self._chat(chat_id)
        old = self.world.member(chat_id, self._user(user_id).id)
        if not old.joined:
            raise DriverError(f"user {user_id} is not in chat {chat_id}")
        if old.status is Status.CREATOR:
            raise DriverError("the creator cannot leave in this sandbox")
        new = (
            attrs.evolve(old, is_member=False)
            if old.status is Status.RESTRICTED
            else Member(user_id, Status.LEFT)
        )
        self.world.set_member(chat_id, new, actor_id=user_id)
        if chat.type is ChatType.SUPERGROUP:
            user = self.world.users[user_id].to_api()
            self._service(chat_id, user_id, {"left_chat_member": user})

    def request_join(
        self,
        chat_id: int,
        user_id: int,
        *,
        invite_link: str | None = None,
        bio: str | None = None,
    ) -> JoinRequest:
        """The user asks to join: chat_join_request (to a bot with can_invite_users)."""
        world = self.world
        chat = self._chat(chat_id)
        user = self._user(user_id)
        link = self._usable_link(chat_id, invite_link)
        member = world.member(chat_id, user_id)
        if member.joined or member.status is Status.KICKED:
            raise DriverError(f"user {user_id} cannot request to join chat {chat_id}")
        request = JoinRequest(chat_id, user_id, world.now(), bio, link.link if link else None)
        world.join_requests[(chat_id, user_id)] = request
        world.private_chat(user_id)
        if world.bot_member(chat_id).right("can_invite_users"):
            payload: Json = {
                "chat": chat.to_api(),
                "from": user.to_api(),
                "user_chat_id": user_id,
                "date": request.date,
            }
            if bio is not None:
                payload["bio"] = bio
            if link is not None:
                payload["invite_link"] = world.invite_link_to_api(link)
            world.publish("chat_join_request", payload)
        return request

    def _usable_link(self, chat_id: int, invite_link: str | None) -> InviteLink | None:
        if invite_link is None:
            return None
        link = self.world.invite_links.get(invite_link)
        if link is None or link.chat_id != chat_id:
            raise DriverError(f"no invite link {invite_link} for chat {chat_id}")
        if link.is_revoked or (
            link.expire_date is not None and link.expire_date <= self.world.now()
        ):
            raise DriverError(f"invite link {invite_link} is revoked or expired")
        if link.member_limit is not None and link.uses >= link.member_limit:
            raise DriverError(f"invite link {invite_link} reached its member limit")
        return link

    # --- speaking ----------------------------------------------------------------------------

    def say(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: MessageRef | None = None,
        thread_id: int | None = None,
    ) -> Message:
        """The user sends a text message (commands, mentions and URLs get entities).

        Use the user's own id as `chat_id` to write to the bot in private.
        """
        world = self.world
        self._user(user_id)
        if chat_id == user_id:
            chat = world.private_chat(user_id)
            world.started.add(user_id)
        else:
            chat = self._chat(chat_id, ChatType.SUPERGROUP)
            member = world.member(chat_id, user_id)
            if not member.joined:
                raise DriverError(f"user {user_id} is not in chat {chat_id}")
            allowed = member.is_admin or (
                member.permissions.get("can_send_messages")
                if member.permissions is not None
                else chat.permissions.get("can_send_messages")
            )
            if not allowed:
                raise DriverError(f"user {user_id} may not send messages in chat {chat_id}")
        reply_id, thread = self._threading(chat, reply_to, thread_id)
        return world.add_message(
            Message(
                chat.id,
                0,
                world.now(),
                user_id,
                text=text,
                entities=detect_entities(text),
                reply_to=reply_id,
                thread_id=thread,
                is_topic_message=thread is not None,
            )
        )

    def _threading(
        self, chat: Chat, reply_to: MessageRef | None, thread_id: int | None
    ) -> tuple[int | None, int | None]:
        reply_id = reply_to.message_id if isinstance(reply_to, Message) else reply_to
        replied = None
        if reply_id is not None:
            replied = self.world.message(chat.id, reply_id)
            if replied is None:
                raise DriverError(f"no message {reply_id} in chat {chat.id}")
        if thread_id is None and replied is not None and chat.is_forum:
            thread_id = replied.thread_id
        if thread_id is not None:
            topic = self.world.message(chat.id, thread_id)
            if topic is None or "forum_topic_created" not in topic.service:
                raise DriverError(f"no forum topic {thread_id} in chat {chat.id}")
            reply_id = reply_id or thread_id
        return reply_id, thread_id

    def create_topic(self, chat_id: int, name: str, *, by: int) -> int:
        """An admin opens a forum topic; returns its message_thread_id."""
        chat = self._chat(chat_id, ChatType.SUPERGROUP)
        if not chat.is_forum:
            raise DriverError(f"chat {chat_id} is not a forum")
        self._require_admin(chat_id, by)
        message = self.world.add_message(
            Message(
                chat_id,
                0,
                self.world.now(),
                by,
                service={"forum_topic_created": {"name": name, "icon_color": 7322096}},
            ),
            opens_topic=True,
        )
        return message.message_id

    def anonymous_admin_says(
        self, chat_id: int, text: str, *, signature: str | None = None
    ) -> Message:
        """An admin who posts anonymously speaks: from GroupAnonymousBot, sender_chat the group."""
        self._chat(chat_id, ChatType.SUPERGROUP)
        return self.world.add_message(
            Message(
                chat_id,
                0,
                self.world.now(),
                GROUP_ANONYMOUS_BOT_ID,
                sender_chat_id=chat_id,
                text=text,
                entities=detect_entities(text),
                author_signature=signature,
            )
        )

    def post_in_channel(self, channel_id: int, text: str) -> tuple[Message, Message | None]:
        """The channel posts; a linked discussion group gets the automatic forward.

        Returns:
            The channel post, and the forward in the discussion group (None when unlinked).
        """
        world = self.world
        channel = self._chat(channel_id, ChatType.CHANNEL)
        owner = next(
            m.user_id for m in world.chat_members(channel_id) if m.status is Status.CREATOR
        )
        post = world.add_message(
            Message(
                channel_id,
                0,
                world.now(),
                owner,
                sender_chat_id=channel_id,
                text=text,
                entities=detect_entities(text),
            )
        )
        if channel.linked_chat_id is None:
            return post, None
        forward = world.add_message(
            Message(
                channel.linked_chat_id,
                0,
                world.now(),
                TELEGRAM_SERVICE_ID,
                sender_chat_id=channel_id,
                text=text,
                entities=list(post.entities),
                is_automatic_forward=True,
                forward_origin={
                    "type": "channel",
                    "chat": channel.to_api(),
                    "message_id": post.message_id,
                    "date": post.date,
                },
            )
        )
        return post, forward

    def press(
        self, user_id: int, message: MessageRef, data: str, *, chat_id: int | None = None
    ) -> str:
        """The user presses the inline button with callback data `data`: callback_query.

        Returns:
            The callback query id (see `callback_answer`).
        """
        world = self.world
        user = self._user(user_id)
        if isinstance(message, Message):
            found: Message | None = world.message(message.chat_id, message.message_id)
        else:
            if chat_id is None:
                raise DriverError("pass chat_id with a message id")
            found = world.message(chat_id, message)
        if found is None:
            raise DriverError("the message is gone")
        if not any(b.get("callback_data") == data for b in found.buttons()):
            raise DriverError(f"the message has no button with callback data {data!r}")
        query_id = str(4_000_000_000_000_000 + world.unique())
        world.callback_queries[query_id] = CallbackQueryState(
            query_id, user_id, found.chat_id, found.message_id, data
        )
        world.publish(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "message": world.message_to_api(found),
                "chat_instance": str((found.chat_id * 2_654_435_761) % 2**63),
                "data": data,
            },
        )
        return query_id

    # --- queries ------------------------------------------------------------------------------

    def member(self, chat_id: int, user_id: int) -> Member:
        """The user's standing in the chat."""
        return self.world.member(chat_id, user_id)

    def status(self, chat_id: int, user_id: int) -> Status:
        """The user's ChatMember status in the chat."""
        return self.world.member(chat_id, user_id).status

    def is_member(self, chat_id: int, user_id: int) -> bool:
        """True while the user is in the chat (restricted members included)."""
        return self.world.member(chat_id, user_id).joined

    def is_restricted(self, chat_id: int, user_id: int) -> bool:
        """True when the user's status is "restricted"."""
        return self.world.member(chat_id, user_id).status is Status.RESTRICTED

    def is_banned(self, chat_id: int, user_id: int) -> bool:
        """True when the user's status is "kicked"."""
        return self.world.member(chat_id, user_id).status is Status.KICKED

    def can_send(self, chat_id: int, user_id: int) -> bool:
        """Whether the user could send a text message into the group right now."""
        member = self.world.member(chat_id, user_id)
        if not member.joined:
            return False
        if member.is_admin:
            return True
        if member.permissions is not None:
            return member.permissions.get("can_send_messages")
        return self.world.chats[chat_id].permissions.get("can_send_messages")

    def message(self, chat_id: int, message_id: int) -> Message | None:
        """A message that is still shown, or None."""
        return self.world.message(chat_id, message_id)

    def shown(self, chat_id: int) -> list[Message]:
        """The messages the chat shows now (deleted ones excluded), oldest first."""
        return [m for m in self.world.messages.get(chat_id, {}).values() if not m.deleted]

    def bot_messages(self, chat_id: int) -> list[Message]:
        """The bot's messages still shown in the chat."""
        return [m for m in self.shown(chat_id) if m.from_id == self.bot.id]

    def last_bot_message(self, chat_id: int) -> Message | None:
        """The bot's newest message still shown in the chat."""
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def callback_answer(self, query_id: str) -> Json | None:
        """How the bot answered a callback query (None while unanswered)."""
        query = self.world.callback_queries.get(query_id)
        return query.answer if query is not None and query.answered else None

    def join_requests(self, chat_id: int) -> list[JoinRequest]:
        """The chat's pending join requests."""
        return [r for (c, _), r in self.world.join_requests.items() if c == chat_id]

    def render(self, chat_id: int) -> str:
        """What the chat shows, as text: one line per message, with its buttons."""
        world = self.world
        chat = world.chats[chat_id]
        lines = [f"== {chat.title or chat.first_name} ({chat.type}) =="]
        for message in self.shown(chat_id):
            who = (
                world.chats[message.sender_chat_id].title
                if message.sender_chat_id is not None
                else world.users[message.from_id].first_name
                if message.from_id is not None
                else "?"
            )
            body = message.text if message.text is not None else _describe(world, message)
            topic = f" [topic {message.thread_id}]" if message.thread_id else ""
            lines.append(f"#{message.message_id}{topic} {who}: {body}")
            buttons = message.buttons()
            if buttons:
                lines.append("    " + " ".join(f"[{b.get('text')}]" for b in buttons))
        return "\n".join(lines)

    # --- helpers ------------------------------------------------------------------------------

    def _user(self, user_id: int) -> User:
        user = self.world.users.get(user_id)
        if user is None:
            raise DriverError(f"no user {user_id}")
        return user

    def _chat(self, chat_id: int, kind: ChatType | None = None) -> Chat:
        chat = self.world.chats.get(chat_id)
        if chat is None or (kind is not None and chat.type is not kind):
            raise DriverError(f"no {kind or 'chat'} {chat_id}")
        return chat

    def _require_admin(self, chat_id: int, user_id: int) -> None:
        if not self.world.member(chat_id, user_id).is_admin:
            raise DriverError(f"user {user_id} is not an admin of chat {chat_id}")

    def _service(self, chat_id: int, actor_id: int, service: Json) -> Message:
        return self.world.add_message(
            Message(chat_id, 0, self.world.now(), actor_id, service=service)
        )


def _describe(world: World, message: Message) -> str:
    service = message.service
    if "new_chat_members" in service:
        names = ", ".join(u["first_name"] for u in service["new_chat_members"])
        return f"(joined: {names})"
    if "left_chat_member" in service:
        return f"(left: {service['left_chat_member']['first_name']})"
    if "forum_topic_created" in service:
        return f"(topic created: {service['forum_topic_created']['name']})"
    return "(service message)"
