"""Flood limits (429 with a computed retry_after) and injected faults, seen through PTB."""

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from telegram_sandbox import (
    DropFault,
    FloodLimits,
    HangFault,
    ManualClock,
    RetryAfterFault,
    Sandbox,
    SeededWorld,
    ServerErrorFault,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def limited(clock: ManualClock) -> AsyncIterator[Sandbox]:
    """A sandbox with Telegram's default limits, on a clock the test moves."""
    async with Sandbox.start(clock=clock) as running:
        yield running


async def test_21st_message_into_a_group_within_a_minute_is_refused(
    limited: Sandbox, clock: ManualClock
) -> None:
    group = limited.seeded.group_id  # type: ignore[union-attr]
    async with Bot(limited.token, base_url=limited.base_url) as bot:
        for n in range(20):
            await bot.send_message(group, f"m{n}")
            clock.advance(2.0)  # 2 s apart: the per-chat 1/s rule never triggers
        # 40 s after the first message: the 21st must wait until the first is 60 s old
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(group, "m20")
        assert caught.value.retry_after == dt.timedelta(seconds=20)
        call = limited.calls.last("sendMessage")
        assert call is not None
        assert (call.status, call.retry_after) == (429, 20)
        assert call.description == "Too Many Requests: retry after 20"
        assert limited.flood.served["group"] == 1
        assert len(limited.driver.bot_messages(group)) == 20  # the refused one was not sent
        clock.advance(19.0)
        with pytest.raises(RetryAfter) as again:
            await bot.send_message(group, "m20")
        assert again.value.retry_after == dt.timedelta(seconds=1)
        clock.advance(1.0)
        sent = await bot.send_message(group, "m20")
        assert sent.message_id == 21
    assert limited.flood.served_total == 2


async def test_one_message_per_second_sustained_into_one_chat(
    limited: Sandbox, clock: ManualClock
) -> None:
    ids = limited.seeded
    assert ids is not None
    limited.driver.say(ids.bob_id, ids.bob_id, "/start")
    async with Bot(limited.token, base_url=limited.base_url) as bot:
        for n in range(3):  # a short burst goes through
            await bot.send_message(ids.bob_id, f"burst {n}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ids.bob_id, "too fast")
        assert caught.value.retry_after == dt.timedelta(seconds=1)
        assert limited.flood.served["chat"] == 1
        clock.advance(1.0)
        await bot.send_message(ids.bob_id, "after a second")
        with pytest.raises(RetryAfter):
            await bot.send_message(ids.bob_id, "again too fast")


async def test_thirty_messages_per_second_overall(limited: Sandbox, clock: ManualClock) -> None:
    users = [1_000_000 + n for n in range(31)]
    for uid in users:
        limited.driver.user(uid, f"U{uid}")
        limited.driver.say(uid, uid, "/start")
    async with Bot(limited.token, base_url=limited.base_url) as bot:
        for uid in users[:30]:
            await bot.send_message(uid, "hi")
        with pytest.raises(RetryAfter):
            await bot.send_message(users[30], "hi")
        assert limited.flood.served["overall"] == 1
        clock.advance(1.0)
        await bot.send_message(users[30], "hi")


async def test_limits_can_be_switched_off_and_tuned(limited: Sandbox, clock: ManualClock) -> None:
    group = limited.seeded.group_id  # type: ignore[union-attr]
    limited.flood.limits = FloodLimits.off()
    async with Bot(limited.token, base_url=limited.base_url) as bot:
        for n in range(25):
            await bot.send_message(group, f"m{n}")
        assert limited.flood.served_total == 0
        limited.flood.limits = FloodLimits(group_max=2, group_window=5.0, chat_rate=0)
        limited.flood.reset()
        await bot.send_message(group, "a")
        await bot.send_message(group, "b")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(group, "c")
        assert caught.value.retry_after == dt.timedelta(seconds=5)


async def test_injected_retry_after_then_success(
    sandbox: Sandbox, bot: Bot, ids: SeededWorld
) -> None:
    sandbox.faults.inject("sendMessage", RetryAfterFault(retry_after=7), times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ids.group_id, "hi")
        assert caught.value.retry_after == dt.timedelta(seconds=7)
    sent = await bot.send_message(ids.group_id, "hi")
    assert sent.message_id == 1  # the faulted calls had no effect
    assert sandbox.faults.served["sendmessage"] == 2
    assert sandbox.faults.pending("sendMessage") == 0
    faulted = sandbox.calls.find("sendMessage", lambda c: c.fault is not None)
    assert [c.retry_after for c in faulted] == [7, 7]


async def test_ptb_rate_limiter_retries_a_served_429(sandbox: Sandbox, ids: SeededWorld) -> None:
    sandbox.faults.inject("sendMessage", RetryAfterFault(retry_after=1))
    limiter = AIORateLimiter(max_retries=1)
    async with ExtBot(sandbox.token, base_url=sandbox.base_url, rate_limiter=limiter) as bot:
        sent = await bot.send_message(ids.group_id, "eventually")
    assert sent.text == "eventually"
    calls = sandbox.calls.of("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0


async def test_injected_server_errors(sandbox: Sandbox, bot: Bot, ids: SeededWorld) -> None:
    sandbox.faults.inject("getChatMember", ServerErrorFault())
    sandbox.faults.inject("getChatMember", ServerErrorFault(500, "Internal Server Error"))
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_chat_member(ids.group_id, ids.bob_id)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_chat_member(ids.group_id, ids.bob_id)
    member = await bot.get_chat_member(ids.group_id, ids.bob_id)
    assert member.status == "member"
    assert [c.status for c in sandbox.calls.of("getChatMember")] == [502, 500, 200]


async def test_injected_hang_times_the_client_out_but_still_takes_effect(
    sandbox: Sandbox, ids: SeededWorld
) -> None:
    sandbox.faults.inject("sendMessage", HangFault(seconds=0.4))
    request = HTTPXRequest(read_timeout=0.1)
    async with Bot(sandbox.token, base_url=sandbox.base_url, request=request) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(ids.group_id, "slow")
    await sandbox.wait_until(lambda: len(sandbox.driver.bot_messages(ids.group_id)) == 1)
    call = sandbox.calls.last("sendMessage")
    assert call is not None
    assert call.ok
    assert call.fault == "hang 0.4s"


async def test_injected_dropped_connection(sandbox: Sandbox, bot: Bot, ids: SeededWorld) -> None:
    sandbox.faults.inject("sendMessage", DropFault())
    with pytest.raises(NetworkError):
        await bot.send_message(ids.group_id, "lost")
    assert sandbox.driver.bot_messages(ids.group_id) == []
    call = sandbox.calls.last("sendMessage")
    assert call is not None
    assert call.status == 0
    assert not call.ok
    await bot.send_message(ids.group_id, "fine now")
    assert len(sandbox.driver.bot_messages(ids.group_id)) == 1
