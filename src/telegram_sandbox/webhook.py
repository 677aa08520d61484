"""Webhook mode: POST each pending update to the bot's URL, in order, retrying on failure."""

import asyncio
import contextlib
import json
import logging

import aiohttp

from telegram_sandbox.methods import BotApi

_LOG = logging.getLogger(__name__)


class WebhookSender:
    """Delivers the world's pending updates to its webhook while one is set.

    An update counts as delivered when the receiver answers 2xx; otherwise the sender records
    the error (getWebhookInfo shows it), waits `retry_delay` seconds and tries the same update
    again, as Telegram does (Telegram waits longer and backs off).
    """

    def __init__(self, api: BotApi, *, retry_delay: float = 1.0, timeout: float = 10.0) -> None:
        self.api = api
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.delivered = 0
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background sender."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        """Stop the background sender."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        world = self.api.world
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                hook = world.webhook
                if hook is None or not world.updates:
                    await self.api.changed(3600.0)
                    continue
                update = world.updates[0]
                headers = {"Content-Type": "application/json"}
                if hook.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
                error: str | None
                try:
                    async with session.post(
                        hook.url, data=json.dumps(update.to_api()), headers=headers
                    ) as response:
                        await response.read()
                        ok = 200 <= response.status < 300
                        error = (
                            None
                            if ok
                            else f"Wrong response from the webhook: {response.status} "
                            f"{response.reason}"
                        )
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = "Connection refused" if isinstance(exc, OSError) else str(exc)
                    error = error or type(exc).__name__
                if world.webhook is not hook:
                    continue
                if error is None:
                    self.delivered += 1
                    world.confirm(update.update_id + 1)
                    self.api.wake()
                    continue
                self.failures += 1
                hook.last_error_date = world.now()
                hook.last_error_message = error
                _LOG.debug("webhook delivery failed: %s", error)
                await asyncio.sleep(self.retry_delay)
