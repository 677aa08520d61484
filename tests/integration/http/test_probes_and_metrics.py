"""The HTTP server's probes and metrics, over real sockets, alone and beside the running bot."""

import asyncio
import socket
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from adapters.http.app import create_app
from adapters.http.server import CannotListen, serving
from adapters.intake import InvalidUpdate, NotAccepting
from adapters.postgres.embedded import free_port
from adapters.postgres.engine import create_engine
from adapters.postgres.health import Readiness
from adapters.telegram.webhook import UpdateIntake
from bootstrap.bot import build_application
from bootstrap.settings import Settings
from telegram_sandbox import Call, RetryAfterFault
from tests.integration.http.conftest import Samples, Served, sample, scrape

TIMEOUT = 10.0
FAMILIES = (
    "nezuko_updates_total counter",
    "nezuko_update_handling_seconds histogram",
    "nezuko_enforcement_actions_total counter",
    "nezuko_bot_api_calls_total counter",
    "nezuko_bot_api_flood_waits_total counter",
    "nezuko_bot_api_flood_wait_seconds_total counter",
    "nezuko_cache_lookups_total counter",
    "nezuko_webhook_requests_total counter",
)


def _to(user: int) -> Callable[[Call], bool]:
    return lambda call: call.param("user_id") == user


async def test_health_is_200_and_ready_is_503_before_the_bot_is_started() -> None:
    async with (
        serving(create_app(Readiness()), "127.0.0.1", 0) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        health = await http.get("/health")
        ready = await http.get("/ready")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "bot not started"}


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    password = "s3cret-Passw0rd"
    engine = create_engine(f"postgresql+asyncpg://nezuko:{password}@127.0.0.1:{free_port()}/x")
    try:
        readiness = Readiness(engine, started=True)
        async with (
            serving(create_app(readiness), "127.0.0.1", 0) as port,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            ready = await http.get("/ready")
            health = await http.get("/health")
    finally:
        await engine.dispose()

    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "database unreachable"}
    assert password not in ready.text
    assert health.status_code == 200  # liveness does not depend on the database


async def test_ready_is_200_when_the_database_answers_and_the_bot_is_started(
    runtime_engine: AsyncEngine,
) -> None:
    assert await Readiness(runtime_engine, started=True)() is None
    assert await Readiness(runtime_engine, started=False)() == "bot not started"


async def test_a_port_in_use_is_a_clear_error_and_a_stopped_server_is_gone() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(CannotListen, match=f"127.0.0.1:{port}"):
            async with serving(create_app(Readiness()), "127.0.0.1", port):
                pass
    async with serving(create_app(Readiness()), "127.0.0.1", 0) as port:
        pass
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/health")


async def test_the_intake_queues_updates_only_while_accepting_and_only_valid_ones() -> None:
    application = build_application(Settings(bot_token="123:abc"))
    intake = UpdateIntake(application)
    update = {
        "update_id": 1,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
    }

    with pytest.raises(NotAccepting):
        await intake(update)
    intake.accepting = True
    for bad in ({}, {"update_id": True}, {"update_id": 2, "message": {"message_id": 1}}):
        with pytest.raises(InvalidUpdate):
            await intake(bad)
    assert application.update_queue.empty()
    await intake(update)

    queued = application.update_queue.get_nowait()
    assert isinstance(queued, Update)
    assert queued.update_id == 1
    assert queued.effective_chat is not None
    assert queued.effective_chat.id == 1


async def test_polling_mode_serves_the_probes_and_metrics_that_move_with_traffic(
    polling_bot: Served,
) -> None:
    ids, sandbox, http = polling_bot.ids, polling_bot.sandbox, polling_bot.http
    health, ready = await http.get("/health"), await http.get("/ready")
    assert (health.status_code, ready.status_code) == (200, 200)
    assert ready.json() == {"status": "ready"}
    scraped = await http.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain")
    for family in FAMILIES:
        assert f"# TYPE {family}\n" in scraped.text
    before = await scrape(http)

    mark = sandbox.calls.mark()
    driver = sandbox.driver
    driver.say(ids.group_id, ids.owner_id, f"/protect @nezuko_demo_news {ids.private_channel_id}")
    await sandbox.calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    sandbox.faults.inject("restrictChatMember", RetryAfterFault(1))
    driver.join(ids.group_id, ids.dave_id)
    await sandbox.calls.wait_for(
        "restrictChatMember", lambda c: _to(ids.dave_id)(c) and c.ok, since=mark, timeout=TIMEOUT
    )
    await sandbox.calls.wait_for("sendMessage", _in(ids.group_id), since=mark, timeout=TIMEOUT)
    await sandbox.wait_delivered(timeout=TIMEOUT)

    # The handler counts the outcome once the use case returns, the handling time is observed
    # once every handler group is done with the join, and the warning goes out from the paced
    # sender (rule 11) after the /protect reply: wait for all three.
    def settled(now: Samples) -> bool:
        keys = (
            (
                "nezuko_enforcement_actions_total",
                {"event": "member_update", "outcome": "restricted"},
            ),
            ("nezuko_update_handling_seconds_count", {"type": "chat_member"}),
        )
        sends = {"method": "sendMessage", "outcome": "ok"}
        warned = sample(now, "nezuko_bot_api_calls_total", **sends) >= 2 + sample(
            before, "nezuko_bot_api_calls_total", **sends
        )
        return warned and all(
            sample(now, name, **labels) > sample(before, name, **labels) for name, labels in keys
        )

    async with asyncio.timeout(TIMEOUT):
        while True:
            after = await scrape(http)
            if settled(after):
                break
            await asyncio.sleep(0.02)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("nezuko_updates_total", type="message") >= 1
    assert moved("nezuko_updates_total", type="chat_member") >= 1
    assert moved("nezuko_update_handling_seconds_count", type="chat_member") >= 1
    assert moved("nezuko_update_handling_seconds_sum", type="chat_member") > 0
    assert (
        moved("nezuko_enforcement_actions_total", event="member_update", outcome="restricted") == 1
    )
    assert moved("nezuko_bot_api_calls_total", method="restrictChatMember", outcome="ok") >= 1
    assert (
        moved("nezuko_bot_api_calls_total", method="restrictChatMember", outcome="RetryAfter") == 1
    )
    assert moved("nezuko_bot_api_flood_waits_total", method="restrictChatMember") == 1
    assert moved("nezuko_bot_api_flood_wait_seconds_total", method="restrictChatMember") == 1
    assert moved("nezuko_bot_api_calls_total", method="sendMessage", outcome="ok") >= 2
    assert moved("nezuko_cache_lookups_total", cache="membership", result="miss") >= 1
    lookups = sum(
        moved("nezuko_cache_lookups_total", cache=cache, result=result)
        for cache in ("membership", "admins", "group")
        for result in ("hit", "miss")
    )
    assert lookups >= 3
    for (name, labels), _ in after.items():
        assert not any(key in ("user_id", "chat_id", "user", "chat") for key, _ in labels), name


def _in(chat_id: int) -> Callable[[Call], bool]:
    return lambda call: call.param("chat_id") == chat_id
