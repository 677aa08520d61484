"""The memory adapters pass the contracts of their ports."""

from datetime import UTC

import pytest

from adapters.memory.caches import InMemoryGroupCache, InMemoryMembershipCache
from adapters.memory.clock import FrozenClock
from adapters.memory.messenger import InMemoryMessenger
from adapters.memory.send_budget import InMemorySendBudget
from adapters.memory.throttle import InMemoryThrottle
from adapters.system_clock import SystemClock
from application.ports.clock import Clock
from application.ports.messenger import ChatInfo, ChatKind, ChatRights
from application.ports.send_budget import SendBudget, SendRates
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import MemberStatus
from tests.contracts.caches import GroupCacheContract, MembershipCacheContract, ThrottleContract
from tests.contracts.messenger import MessengerContract
from tests.contracts.send_budget import BudgetFactory, SendBudgetContract


class MemoryWorld:
    """The memory messenger's tables, arranged as `MessengerContract` expects."""

    group = GroupId(-1001)
    channel = ChannelId(-1002)
    channel_username = "news_channel"
    private_channel = ChannelId(-1003)
    admin = UserId(10)
    member = UserId(20)
    nobody = UserId(999_999)

    def __init__(self, messenger: InMemoryMessenger) -> None:
        self.messenger = messenger
        everything = ChatRights(
            MemberStatus.ADMINISTRATOR,
            can_restrict_members=True,
            can_delete_messages=True,
            can_invite_users=True,
        )
        for chat in (self.group, self.channel, self.private_channel):
            messenger.chat_rights[(chat, messenger.bot_id)] = everything
        messenger.set_status(self.group, self.admin, MemberStatus.ADMINISTRATOR)
        messenger.set_status(self.group, self.member, MemberStatus.MEMBER)
        messenger.unknown_users.add(self.nobody)
        news = ChatInfo(self.channel, ChatKind.CHANNEL, "News", self.channel_username)
        messenger.chats["@news_channel"] = messenger.chats[str(self.channel)] = news
        messenger.chats[str(self.private_channel)] = ChatInfo(
            self.private_channel, ChatKind.CHANNEL, "Private"
        )

    async def set_channel_status(
        self, channel: ChannelId, user: UserId, status: MemberStatus, *, is_member: bool = False
    ) -> None:
        self.messenger.set_status(channel, user, status, is_member=is_member)

    async def is_restricted(self, group: GroupId, user: UserId) -> bool:
        return self.messenger.is_restricted(group, user)

    async def request_join(self, group: GroupId) -> UserId:
        requester = UserId(700_000 + len(self.messenger.calls))
        self.messenger.join_requests.add((group, requester))
        return requester


class TestInMemoryMessenger(MessengerContract):
    @pytest.fixture
    def messenger(self) -> InMemoryMessenger:
        return InMemoryMessenger()

    @pytest.fixture
    def world(self, messenger: InMemoryMessenger) -> MemoryWorld:
        return MemoryWorld(messenger)

    async def test_records_every_call(
        self, messenger: InMemoryMessenger, world: MemoryWorld
    ) -> None:
        await messenger.restrict(world.group, world.member)
        assert messenger.calls_of("restrict") == [("restrict", world.group, world.member)]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


class TestInMemoryMembershipCache(MembershipCacheContract):
    @pytest.fixture
    def membership_cache(self, clock: FrozenClock) -> InMemoryMembershipCache:
        return InMemoryMembershipCache(clock)


class TestInMemoryGroupCache(GroupCacheContract):
    @pytest.fixture
    def group_cache(self, clock: FrozenClock) -> InMemoryGroupCache:
        return InMemoryGroupCache(clock)


class TestInMemoryThrottle(ThrottleContract):
    @pytest.fixture
    def throttle(self, clock: FrozenClock) -> InMemoryThrottle:
        return InMemoryThrottle(clock)


@pytest.mark.parametrize("clock_under_test", [SystemClock(), FrozenClock()])
def test_clocks_tell_aware_utc_time_that_never_goes_back(clock_under_test: Clock) -> None:
    first, second = clock_under_test.now(), clock_under_test.now()
    assert first.tzinfo is UTC
    assert second >= first


class TestInMemorySendBudget(SendBudgetContract):
    @pytest.fixture
    def budget(self) -> BudgetFactory:
        async def made(rates: SendRates) -> SendBudget:
            return InMemorySendBudget(rates)

        return made
