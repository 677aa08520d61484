"""What the adapters count: cache hits and misses, Bot API attempts by outcome, 429s, updates."""

import datetime as dt
from typing import Any

import pytest
from telegram import Update
from telegram.error import BadRequest, RetryAfter

from adapters.memory.caches import InMemoryGroupCache, InMemoryMembershipCache
from adapters.metrics import REGISTRY, updates_handled
from adapters.system_clock import SystemClock
from adapters.telegram.rate_limiter import RetryPolicy, TelegramRateLimiter
from adapters.telegram.update_processor import MeasuredUpdateProcessor
from adapters.telegram.updates import add_update_ids
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import Membership, MemberStatus


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _lookups(cache: str, result: str) -> float:
    return _value("nezuko_cache_lookups_total", cache=cache, result=result)


async def test_membership_and_admin_lookups_count_hits_and_misses() -> None:
    cache = InMemoryMembershipCache(SystemClock())
    channel, user, group = ChannelId(-1001), UserId(7), GroupId(-1002)
    before = {(c, r): _lookups(c, r) for c in ("membership", "admins") for r in ("hit", "miss")}

    assert await cache.membership(channel, user) is None
    await cache.store_membership(channel, user, Membership(MemberStatus.MEMBER))
    assert await cache.membership(channel, user) is not None
    assert await cache.admins(group) is None
    await cache.store_admins(group, frozenset({UserId(1)}))
    assert await cache.admins(group) == frozenset({UserId(1)})
    assert await cache.admins(group) is not None

    assert _lookups("membership", "miss") - before["membership", "miss"] == 1
    assert _lookups("membership", "hit") - before["membership", "hit"] == 1
    assert _lookups("admins", "miss") - before["admins", "miss"] == 1
    assert _lookups("admins", "hit") - before["admins", "hit"] == 2


async def test_group_snapshot_lookups_count_misses() -> None:
    before = _lookups("group", "miss")

    assert await InMemoryGroupCache(SystemClock()).get(GroupId(-1003)) is None

    assert _lookups("group", "miss") == before + 1


class Answers:
    """A Bot API call that fails with the given errors, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, *_: Any, **__: Any) -> bool:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return True


async def test_every_attempt_is_counted_with_its_outcome_and_429s_with_their_wait() -> None:
    limiter = TelegramRateLimiter(retries=RetryPolicy(backoff=0.0))
    method = "unitTestRestrict"
    answers = Answers(RetryAfter(dt.timedelta(seconds=0)))

    result = await limiter.process_request(answers, (), {}, method, {"chat_id": -100}, None)

    assert result is True
    assert answers.calls == 2
    assert _value("nezuko_bot_api_calls_total", method=method, outcome="RetryAfter") == 1
    assert _value("nezuko_bot_api_calls_total", method=method, outcome="ok") == 1
    assert _value("nezuko_bot_api_flood_waits_total", method=method) == 1


async def test_a_refusal_is_counted_by_its_error_class() -> None:
    limiter = TelegramRateLimiter()
    method = "unitTestDelete"

    refused = Answers(BadRequest("Message to delete not found"))
    with pytest.raises(BadRequest):
        await limiter.process_request(refused, (), {}, method, {"chat_id": -100}, None)

    assert _value("nezuko_bot_api_calls_total", method=method, outcome="BadRequest") == 1
    assert _value("nezuko_bot_api_calls_total", method=method, outcome="ok") == 0


def _message_update(update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -1001, "type": "supergroup", "title": "g"},
                "from": {"id": 42, "is_bot": False, "first_name": "A"},
                "text": "hi",
            },
        },
        None,
    )


async def test_the_update_processor_counts_times_and_logs_each_update_with_its_ids() -> None:
    processor = MeasuredUpdateProcessor(2)
    seen: list[dict[str, Any]] = []

    async def handle() -> None:
        seen.append(dict(add_update_ids(None, "info", {"event": "a line"})))

    async def fail() -> None:
        raise RuntimeError("boom")

    received = _value("nezuko_updates_total", type="message")
    handled = updates_handled("message")

    await processor.process_update(_message_update(9), handle())
    with pytest.raises(RuntimeError):
        await processor.process_update(_message_update(10), fail())

    assert seen == [{"event": "a line", "update_id": 9, "tenant": -1001, "user": 42}]
    assert add_update_ids(None, "info", {"event": "after"}) == {"event": "after"}
    assert _value("nezuko_updates_total", type="message") - received == 2
    assert updates_handled("message") - handled == 2
