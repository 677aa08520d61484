"""The Telegram adapter against the Bot API sandbox, through PTB's real HTTP stack.

The world is built here (not the sandbox's seed) so that it is exactly what `MessengerContract`
describes, plus a few chats for error cases.
"""

import os

# PTB reads this whenever a duration is accessed; with it RetryAfter.retry_after is a timedelta
# and no deprecation warning is raised (filterwarnings = error).
os.environ["PTB_TIMEDELTA"] = "true"

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.rate_limiter import (
    RateLimitArgs,
    RetryPolicy,
    SendLimits,
    TelegramRateLimiter,
)
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import MemberStatus
from telegram_sandbox import AdminRights, FloodLimits, Member, Sandbox, Status

FAST_RETRIES = RetryPolicy(flood_retries=3, max_wait=10.0, network_retries=2, backoff=0.05)
"""Production retry counts with short network pauses, so fault tests take milliseconds."""


class SandboxWorld:
    """The sandbox arranged as `MessengerContract` expects, plus chats for the error cases.

    `group` is a forum supergroup; the bot administers `group`, `channel` (public) and
    `private_channel` with every right. `weak_group` has the bot as an admin with no rights;
    `lost_channel` is public but the bot is not in it; `gone_group` removed the bot.
    """

    owner = UserId(2001)
    admin = UserId(2002)
    member = UserId(2003)
    stranger = UserId(2004)
    nobody = UserId(999_999)
    group = GroupId(-1002000000001)
    channel = ChannelId(-1002000000002)
    channel_username = "nezuko_test_news"
    private_channel = ChannelId(-1002000000003)
    weak_group = GroupId(-1002000000004)
    lost_channel = ChannelId(-1002000000005)
    gone_group = GroupId(-1002000000006)

    _requesters = 0

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        driver = sandbox.driver
        driver.user(self.owner, "Olga", username="olga_owner")
        driver.user(self.admin, "Ada")
        driver.user(self.member, "Mel <&>")
        driver.user(self.stranger, "Sam")
        driver.supergroup(self.group, "Test <Group> & Co", owner_id=self.owner, is_forum=True)
        driver.channel(self.channel, "News", owner_id=self.owner, username=self.channel_username)
        driver.channel(self.private_channel, "Insiders", owner_id=self.owner)
        driver.supergroup(self.weak_group, "Weak", owner_id=self.owner)
        driver.channel(self.lost_channel, "Lost", owner_id=self.owner, username="nezuko_lost")
        driver.supergroup(self.gone_group, "Gone", owner_id=self.owner)
        bot = driver.bot.id
        for chat in (self.group, self.channel, self.private_channel):
            driver.place(chat, Member(bot, Status.ADMINISTRATOR, rights=AdminRights.full()))
        driver.place(self.weak_group, Member(bot, Status.ADMINISTRATOR, rights=AdminRights()))
        driver.place(self.gone_group, Member(bot, Status.KICKED))
        moderator = AdminRights(can_restrict_members=True, can_delete_messages=True)
        driver.place(self.group, Member(self.admin, Status.ADMINISTRATOR, rights=moderator))
        for chat in (self.group, self.weak_group):
            driver.place(chat, Member(self.member, Status.MEMBER))

    @property
    def bot(self) -> UserId:
        """The bot's user id."""
        return UserId(self.sandbox.driver.bot.id)

    async def set_channel_status(
        self, channel: ChannelId, user: UserId, status: MemberStatus, *, is_member: bool = False
    ) -> None:
        self.sandbox.driver.place(channel, Member(user, Status(status.value), is_member=is_member))

    async def is_restricted(self, group: GroupId, user: UserId) -> bool:
        return self.sandbox.driver.is_restricted(group, user)

    async def request_join(self, group: GroupId) -> UserId:
        self._requesters += 1
        requester = UserId(700_000 + self._requesters)
        self.sandbox.driver.user(requester, f"Requester {self._requesters}")
        self.sandbox.driver.request_join(group, requester)
        return requester


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """An empty sandbox with flood limits off (pacing tests switch them on)."""
    async with Sandbox.start(seed=False, limits=FloodLimits.off()) as running:
        yield running


@pytest.fixture
def world(sandbox: Sandbox) -> SandboxWorld:
    return SandboxWorld(sandbox)


type BotFactory = Callable[..., AbstractAsyncContextManager[ExtBot[RateLimitArgs]]]


@pytest.fixture
def make_bot(sandbox: Sandbox) -> BotFactory:
    """Open an initialized ExtBot on the sandbox: `async with make_bot(limiter=…) as bot`."""

    @asynccontextmanager
    async def factory(
        *,
        limits: SendLimits | None = None,
        retries: RetryPolicy = FAST_RETRIES,
        read_timeout: float = 5.0,
    ) -> AsyncGenerator[ExtBot[RateLimitArgs]]:
        request = HTTPXRequest(connection_pool_size=32, read_timeout=read_timeout)
        limiter = TelegramRateLimiter(limits, retries)
        async with ExtBot(
            sandbox.token, base_url=sandbox.base_url, request=request, rate_limiter=limiter
        ) as bot:
            yield bot

    return factory


@pytest.fixture
async def bot(make_bot: BotFactory) -> AsyncIterator[ExtBot[RateLimitArgs]]:
    """An ExtBot with the production rate limiter (Telegram's limits, fast network retries)."""
    async with make_bot() as opened:
        yield opened


@pytest.fixture
def messenger(bot: ExtBot[RateLimitArgs]) -> TelegramMessenger:
    return TelegramMessenger(bot)
