"""Webhook mode: the sandbox POSTs updates to a receiver that feeds a PTB Application."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import pytest
from aiohttp import web
from telegram import Bot, Update
from telegram.error import BadRequest
from telegram.ext import TypeHandler

from telegram_sandbox import Sandbox, SeededWorld
from tests.integration.sandbox.conftest import App, Received, build_app

SECRET = "s3cret_Token-1"


class Receiver:
    """A tiny webhook endpoint: checks the secret header, fails the first `fail` posts."""

    def __init__(self, app: App, *, fail: int = 0) -> None:
        self.app = app
        self.fail = fail
        self.posts = 0
        self.headers: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.posts += 1
        self.headers.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        if self.posts <= self.fail:
            return web.Response(status=500)
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return web.Response(status=403)
        update = Update.de_json(await request.json(), self.app.bot)
        await self.app.update_queue.put(update)
        return web.Response()


@contextlib.asynccontextmanager
async def webhook_app(
    sandbox: Sandbox, *, fail: int = 0
) -> AsyncGenerator[tuple[Receiver, Received, str]]:
    received = Received()
    app = build_app(sandbox, polling=False)
    app.add_handler(TypeHandler(Update, received.handle))
    receiver = Receiver(app, fail=fail)
    web_app = web.Application()
    web_app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        async with app:
            await app.start()
            yield receiver, received, f"http://127.0.0.1:{port}/hook"
            await app.stop()
    finally:
        await runner.cleanup()


async def test_webhook_delivers_with_secret_header(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    async with webhook_app(sandbox) as (receiver, received, url):
        assert await bot.set_webhook(
            url, secret_token=SECRET, allowed_updates=["message", "chat_member"]
        )
        call = sandbox.calls.last("setWebhook")
        assert call is not None
        assert call.description == "Webhook was set"
        sandbox.driver.join(ids.group_id, ids.dave_id)
        sandbox.driver.say(ids.group_id, ids.dave_id, "/start")
        await received.wait_for(lambda u: u.message is not None and u.message.text == "/start")
        await sandbox.wait_delivered()
        info = await bot.get_webhook_info()
    assert received.kinds() == ["chat_member", "message", "message"]
    assert receiver.headers == [SECRET] * 3
    assert info.url == url
    assert info.pending_update_count == 0
    assert info.allowed_updates == ("chat_member", "message")
    assert info.last_error_date is None


async def test_webhook_retries_failed_deliveries_in_order(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    async with webhook_app(sandbox, fail=2) as (receiver, received, url):
        await bot.set_webhook(url, secret_token=SECRET)
        sandbox.driver.say(ids.group_id, ids.bob_id, "one")
        sandbox.driver.say(ids.group_id, ids.bob_id, "two")
        await received.wait_for(lambda u: u.message is not None and u.message.text == "two")
        info = await bot.get_webhook_info()
    assert [u.message.text for u in received.updates if u.message] == ["one", "two"]
    assert receiver.posts == 4  # two failures of "one", then one, two
    assert sandbox.webhook.failures == 2
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None


async def test_webhook_unreachable_keeps_updates_pending(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/nothing-listens")
    sandbox.driver.say(ids.group_id, ids.bob_id, "lost?")
    await sandbox.wait_until(lambda: sandbox.webhook.failures >= 2, timeout=3)
    await asyncio.sleep(0)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message
    # deleting the webhook hands the pending update to getUpdates
    assert await bot.delete_webhook()
    call = sandbox.calls.last("deleteWebhook")
    assert call is not None
    assert call.description == "Webhook was deleted"
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["lost?"]
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert sandbox.calls.last("deleteWebhook").description == "Webhook is already deleted"  # type: ignore[union-attr]
    assert sandbox.pending_updates == 0
    assert (await bot.get_webhook_info()).url == ""


async def test_set_webhook_rejects_non_loopback_and_bad_secret(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)bad webhook"):
        await bot.set_webhook("https://example.org/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces!")
