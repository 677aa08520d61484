"""Start-up failures: which are worth waiting for, and the one line each says."""

import asyncio

import pytest
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut

from adapters.telegram.polling import AnotherPoller
from application.errors import StorageError
from bootstrap.settings import Settings
from bootstrap.startup import (
    EXIT_ANOTHER_INSTANCE,
    EXIT_CONFIG,
    EXIT_UNREACHABLE,
    DependencyUnreachable,
    database_unreachable,
    explain,
    retrying,
    telegram_unreachable,
)

TOKEN = "123456:ABC-def_ghi"
SETTINGS = Settings(bot_token=TOKEN)


def test_network_failures_timeouts_and_flood_waits_are_worth_waiting_for() -> None:
    assert telegram_unreachable(NetworkError("httpx.ConnectError: refused"))
    assert telegram_unreachable(TimedOut())
    assert telegram_unreachable(RetryAfter(3))
    assert not telegram_unreachable(BadRequest("chat not found"))  # a NetworkError in PTB
    assert not telegram_unreachable(InvalidToken("Unauthorized"))
    assert not telegram_unreachable(Conflict("terminated by other getUpdates request"))


def test_a_connection_failure_is_worth_waiting_for_and_a_refused_role_is_not() -> None:
    refused = StorageError("database error (no sqlstate): ConnectionRefusedError")
    refused.__cause__ = ConnectionRefusedError(111, "refused")
    assert database_unreachable(refused)
    assert not database_unreachable(RuntimeError("a bug"))


async def test_retrying_waits_out_transient_failures_then_gives_up_with_the_last() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def attempt() -> str:
        calls.append(loop.time())
        if len(calls) < 3:
            raise TimedOut()
        return "answered"

    assert (
        await retrying(
            attempt,
            transient=telegram_unreachable,
            window=5,
            dependency="x",
            advice="y",
            pause=0.05,
        )
        == "answered"
    )
    assert len(calls) == 3
    assert calls[2] - calls[0] >= 0.14  # 0.05 s, then 0.1 s: backoff

    async def never() -> str:
        raise TimedOut()

    began = loop.time()
    with pytest.raises(DependencyUnreachable) as raised:
        await retrying(
            never,
            transient=telegram_unreachable,
            window=0.3,
            dependency="the API",
            advice="check",
            pause=0.05,
        )
    assert 0.3 <= loop.time() - began < 1.0
    assert str(raised.value).startswith("cannot reach the API (Timed out), waited 0.3 s: check")


async def test_a_failure_not_worth_waiting_for_ends_at_once() -> None:
    async def rejected() -> None:
        raise InvalidToken("Unauthorized")

    with pytest.raises(InvalidToken):
        await retrying(
            rejected, transient=telegram_unreachable, window=60, dependency="x", advice="y"
        )


def test_a_rejected_token_is_explained_without_the_token() -> None:
    try:
        try:
            raise InvalidToken("Unauthorized")
        except InvalidToken as cause:
            raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.") from cause
    except InvalidToken as error:
        failure = explain(error, SETTINGS)
    assert failure is not None
    assert failure.exit_code == EXIT_CONFIG
    assert TOKEN not in failure.reason
    assert "answered 'Unauthorized'" in failure.reason


def test_exit_codes_of_the_expected_failures_and_none_for_a_bug() -> None:
    unreachable = DependencyUnreachable("the database", "refused", 60, "start it")
    assert (failure := explain(unreachable, SETTINGS)) is not None
    assert failure.exit_code == EXIT_UNREACHABLE
    assert (failure := explain(AnotherPoller(61, "409"), SETTINGS)) is not None
    assert failure.exit_code == EXIT_ANOTHER_INSTANCE
    assert explain(RuntimeError("a bug"), SETTINGS) is None
    assert explain(StorageError("database error (XX000): internal"), SETTINGS) is None


def test_telegram_failing_after_getme_is_still_one_line() -> None:
    webhook = Settings(bot_token=TOKEN, webhook_url="https://x.example/h", webhook_secret="s")
    refused = explain(BadRequest("Bad webhook: failed to resolve host"), webhook)
    assert refused is not None
    assert refused.exit_code == EXIT_CONFIG
    assert "check WEBHOOK_URL" in refused.reason
    dropped = explain(NetworkError("httpx.ReadError: reset"), SETTINGS)
    assert dropped is not None
    assert dropped.exit_code == EXIT_UNREACHABLE
    assert explain(BadRequest("chat not found"), SETTINGS) is None  # polling: a bug
