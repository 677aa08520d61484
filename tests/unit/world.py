"""A small world for use-case tests: every use case built by hand from memory adapters."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import attrs
from dependency_injector import providers

from adapters.memory.clock import FrozenClock
from adapters.memory.invalidations import InMemoryInvalidations
from adapters.memory.messenger import InMemoryMessenger
from adapters.memory.throttle import InMemoryThrottle
from adapters.memory.unit_of_work import InMemoryTenantDirectory, InMemoryUnitOfWork
from application.authorization import Caller
from application.background import drain_group
from application.lookups import Lookups
from application.ports.messenger import ChatInfo, ChatKind, ChatRights
from application.shared_caches import SharedGroupCache, SharedMembershipCache
from application.use_cases.answer_in_group import AnswerInGroup
from application.use_cases.change_settings import ChangeSettings
from application.use_cases.channel_member_changed import (
    ChannelChangeResult,
    ChannelMemberUpdate,
)
from application.use_cases.check_rights import CheckRights
from application.use_cases.enforce_membership import (
    EnforceCommand,
    Enforcement,
)
from application.use_cases.exempt_member import ExemptMember
from application.use_cases.explain_member import ExplainMember
from application.use_cases.gate_member_command import GateMemberCommand
from application.use_cases.list_configurable_groups import ListConfigurableGroups
from application.use_cases.list_exempted import ListExempted
from application.use_cases.list_muted import ListMuted
from application.use_cases.on_bot_status_changed import OnBotStatusChanged
from application.use_cases.on_group_member_updated import (
    GroupMemberUpdate,
    MemberUpdateResult,
)
from application.use_cases.on_join_request import (
    JoinRequestCommand,
    JoinRequestOutcome,
)
from application.use_cases.post_audit_log import PostAuditLog
from application.use_cases.press_verify import PressVerify
from application.use_cases.protect_group import ProtectGroup
from application.use_cases.remember_username import RememberUsername
from application.use_cases.run_due_actions import RunDueActions
from application.use_cases.schedule_deletion import ScheduleDeletion
from application.use_cases.set_log_channel import SetLogChannel
from application.use_cases.show_log import ShowLog
from application.use_cases.show_my_mutes import ShowMyMutes
from application.use_cases.show_status import ShowStatus
from application.use_cases.unexempt_member import UnexemptMember
from application.use_cases.unlink_channel import UnlinkChannel
from application.use_cases.unprotect_group import UnprotectGroup
from application.use_cases.verify_join_request import VerifyJoinRequest
from bootstrap.containers import Container, MemoryPersistence
from domain.audit import AuditEvent, AuditKind
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.membership import MemberStatus
from domain.policy import GroupPolicy, GroupSettings, RequiredChannel
from domain.restriction import Restriction
from domain.schedule import PACED_KINDS, ScheduledAction
from domain.senders import Sender

GROUP = GroupId(-1001000000001)
OTHER_GROUP = GroupId(-1001000000002)
NEWS = ChannelId(-1002000000001)
TALK = ChannelId(-1002000000002)
BOT = UserId(42)
OWNER = UserId(100)
ADMIN = UserId(101)
ALICE = UserId(201)
BOB = UserId(202)
CAROL = UserId(203)

NEWS_CHANNEL = RequiredChannel(NEWS, "News <&> Co", "news_channel")
TALK_CHANNEL = RequiredChannel(TALK, "Private talk", None, "https://t.me/+talk")


@attrs.define
class World:
    """The composition root's container on memory adapters, with helpers to arrange Telegram's
    state and read what happened. Use cases come from the container, as in production."""

    clock: FrozenClock = attrs.Factory(FrozenClock)
    messenger: InMemoryMessenger = attrs.Factory(lambda: InMemoryMessenger(own_id=BOT))
    uow: InMemoryUnitOfWork = attrs.Factory(InMemoryUnitOfWork)
    """The store; pass another world's to play a restart over the same state."""
    container: Container = attrs.field(init=False)
    directory: InMemoryTenantDirectory = attrs.field(init=False)
    memberships: SharedMembershipCache = attrs.field(init=False)
    groups: SharedGroupCache = attrs.field(init=False)
    invalidations: InMemoryInvalidations = attrs.field(init=False)
    """What this world told the bot's other processes to drop from their caches."""
    throttle: InMemoryThrottle = attrs.field(init=False)
    lookups: Lookups = attrs.field(init=False)
    _next_message: int = 1

    def __attrs_post_init__(self) -> None:
        persistence = MemoryPersistence(uow=providers.Object(self.uow))
        self.container = Container(
            persistence=persistence, messenger=self.messenger, clock=self.clock
        )
        self.directory = _as(InMemoryTenantDirectory, self.container.directory())
        self.memberships = self.container.memberships()
        self.groups = self.container.groups()
        self.invalidations = _as(InMemoryInvalidations, self.container.invalidations())
        self.throttle = self.container.throttle()
        self.lookups = self.container.lookups()
        for group in (GROUP, OTHER_GROUP):
            self.messenger.chat_rights[(group, BOT)] = ChatRights(
                MemberStatus.ADMINISTRATOR, can_restrict_members=True, can_delete_messages=True
            )
            self.messenger.set_status(group, OWNER, MemberStatus.CREATOR)
            self.messenger.chat_rights[(group, ADMIN)] = ChatRights(
                MemberStatus.ADMINISTRATOR, can_restrict_members=True
            )
            self.messenger.set_status(group, ADMIN, MemberStatus.ADMINISTRATOR)
            for user in (ALICE, BOB, CAROL):
                self.messenger.set_status(group, user, MemberStatus.MEMBER)
        for channel in (NEWS_CHANNEL, TALK_CHANNEL):
            self.add_channel(channel)

    # --- arranging ------------------------------------------------------------------------------

    def add_channel(self, channel: RequiredChannel, *, bot_rights: bool = True) -> None:
        """Make a channel Telegram knows, with the bot as its admin."""
        info = ChatInfo(channel.channel_id, ChatKind.CHANNEL, channel.title, channel.username)
        self.messenger.chats[str(channel.channel_id)] = info
        if channel.username:
            self.messenger.chats[f"@{channel.username}".lower()] = info
        if bot_rights:
            self.messenger.chat_rights[(channel.channel_id, BOT)] = ChatRights(
                MemberStatus.ADMINISTRATOR, can_invite_users=True
            )

    async def protect(
        self,
        *channels: RequiredChannel,
        group: GroupId = GROUP,
        settings: GroupSettings | None = None,
    ) -> GroupPolicy:
        """Store a protected policy directly (no command, no checks)."""
        policy = GroupPolicy(
            group, "Group", True, channels or (NEWS_CHANNEL,), settings or GroupSettings()
        )
        async with self.uow.begin(group) as tx:
            await tx.groups.save(policy)
            await tx.commit()
        await self.groups.forget(group)
        return policy

    async def disable(self, group: GroupId = GROUP) -> None:
        """Store the group's policy as disabled directly (no command, nothing scheduled)."""
        async with self.uow.begin(group) as tx:
            policy = await tx.groups.get(group)
            assert policy is not None
            await tx.groups.save(policy.disabled())
            await tx.commit()
        await self.groups.forget(group)

    def join(self, channel: ChannelId, *users: UserId) -> None:
        """Users are members of a channel."""
        for user in users:
            self.messenger.set_status(channel, user, MemberStatus.MEMBER)

    def leave(self, channel: ChannelId, *users: UserId) -> None:
        """Users left a channel."""
        for user in users:
            self.messenger.set_status(channel, user, MemberStatus.LEFT)

    # --- acting ---------------------------------------------------------------------------------

    def message(
        self,
        user: UserId,
        *,
        group: GroupId = GROUP,
        name: str = "",
        is_bot: bool = False,
        sender_chat_id: int | None = None,
        is_automatic_forward: bool = False,
        thread_id: int | None = None,
    ) -> EnforceCommand:
        """A new message command from `user`."""
        self._next_message += 1
        return EnforceCommand(
            group,
            Sender(user, is_bot, sender_chat_id, is_automatic_forward),
            name or f"user{user}",
            message_id=MessageId(self._next_message),
            thread_id=thread_id,
        )

    async def say(self, user: UserId, *, group: GroupId = GROUP) -> EnforceCommand:
        """`user` writes a message; return the command that was enforced."""
        command = self.message(user, group=group)
        await self.on_message.execute(command)
        return command

    # --- reading --------------------------------------------------------------------------------

    async def restriction(self, user: UserId, group: GroupId = GROUP) -> Restriction | None:
        """The bot's restriction of `user`, from committed state."""
        async with self.uow.begin(group) as tx:
            return await tx.restrictions.get(group, user)

    async def audit(self, group: GroupId = GROUP) -> list[AuditEvent]:
        """The group's audit trail, oldest first."""
        async with self.uow.begin(group) as tx:
            return list(reversed(await tx.audit.recent(group, 1000)))

    async def audit_kinds(self, group: GroupId = GROUP) -> list[AuditKind]:
        """The kinds of the group's audit events, oldest first."""
        return [event.kind for event in await self.audit(group)]

    async def pending(self, group: GroupId = GROUP) -> tuple[ScheduledAction, ...]:
        """The group's pending scheduled actions."""
        async with self.uow.begin(group) as tx:
            return await tx.actions.pending(group)

    async def send_pending(self) -> None:
        """Let the paced sender post every answer, invitation, warning, raid notice and notice
        due now, as the process does at once."""
        senders = self.container.senders()
        for group in await self.directory.groups_with_due_actions(self.clock.now(), PACED_KINDS):
            await drain_group(senders, group)

    async def run_due(self, after: timedelta = timedelta(0)) -> None:
        """Let time pass, then run every due action."""
        self.clock.advance(after)
        await self.run_due_actions.execute()

    # --- use cases, from the container ---------------------------------------------------------

    @property
    def on_message(self) -> "ThenSend[EnforceCommand, Enforcement]":
        return ThenSend(self.container.enforce_membership().execute, self.send_pending)

    @property
    def on_group_member(self) -> "ThenSend[GroupMemberUpdate, MemberUpdateResult]":
        return ThenSend(self.container.on_group_member_updated().execute, self.send_pending)

    @property
    def on_channel_member(self) -> "ThenSend[ChannelMemberUpdate, ChannelChangeResult]":
        return ThenSend(self.container.channel_member_changed().execute, self.send_pending)

    @property
    def verify(self) -> PressVerify:
        return self.container.press_verify()

    @property
    def protect_group(self) -> ProtectGroup:
        return self.container.protect_group()

    @property
    def unprotect(self) -> UnprotectGroup:
        return self.container.unprotect_group()

    @property
    def unlink(self) -> UnlinkChannel:
        return self.container.unlink_channel()

    @property
    def status(self) -> ShowStatus:
        return self.container.show_status()

    @property
    def settings(self) -> ChangeSettings:
        return self.container.change_settings()

    @property
    def exempt(self) -> ExemptMember:
        return self.container.exempt_member()

    @property
    def unexempt(self) -> UnexemptMember:
        return self.container.unexempt_member()

    @property
    def check(self) -> CheckRights:
        return self.container.check_rights()

    @property
    def explain(self) -> ExplainMember:
        return self.container.explain_member()

    @property
    def my_mutes(self) -> ShowMyMutes:
        return self.container.show_my_mutes()

    @property
    def member_command(self) -> GateMemberCommand:
        return self.container.gate_member_command()

    @property
    def muted(self) -> ListMuted:
        return self.container.list_muted()

    @property
    def exempted(self) -> ListExempted:
        return self.container.list_exempted()

    @property
    def log(self) -> ShowLog:
        return self.container.show_log()

    @property
    def answer(self) -> AnswerInGroup:
        return self.container.answer_in_group()

    @property
    def schedule_deletion(self) -> ScheduleDeletion:
        return self.container.schedule_deletion()

    @property
    def on_bot_status(self) -> OnBotStatusChanged:
        return self.container.on_bot_status_changed()

    @property
    def on_join_request(self) -> "ThenSend[JoinRequestCommand, JoinRequestOutcome]":
        return ThenSend(self.container.on_join_request().execute, self.send_pending)

    @property
    def verify_join_request(self) -> VerifyJoinRequest:
        return self.container.verify_join_request()

    @property
    def configurable(self) -> ListConfigurableGroups:
        return self.container.list_configurable_groups()

    @property
    def setlog(self) -> SetLogChannel:
        return self.container.set_log_channel()

    @property
    def post_audit_log(self) -> PostAuditLog:
        return self.container.post_audit_log()

    @property
    def remember_username(self) -> RememberUsername:
        return self.container.remember_username()

    @property
    def run_due_actions(self) -> RunDueActions:
        return self.container.run_due_actions()


@attrs.frozen
class ThenSend[C, R]:
    """A use case that may leave warning intents, followed by the paced sender's round (the
    process runs the sender at once; tests see the warnings right after the use case)."""

    run: Callable[[C], Awaitable[R]]
    send: Callable[[], Awaitable[None]]

    async def execute(self, command: C) -> R:
        result = await self.run(command)
        await self.send()
        return result


def _as[T](kind: type[T], value: object) -> T:
    assert isinstance(value, kind)
    return value


AS_ADMIN = Caller(ADMIN)
AS_OWNER = Caller(OWNER)
