"""The HTTP server: `/bot{token}/{method}` routing, request decoding and the Bot API envelope."""

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import attrs
from aiohttp import web

from telegram_sandbox.control import add_control_routes
from telegram_sandbox.driver import Driver
from telegram_sandbox.errors import ApiError, too_many_requests
from telegram_sandbox.limits import (
    Clock,
    DropFault,
    FaultInjector,
    FloodControl,
    FloodLimits,
    HangFault,
    RetryAfterFault,
    ServerErrorFault,
)
from telegram_sandbox.methods import BotApi
from telegram_sandbox.params import Params, decode_form_value
from telegram_sandbox.record import CallLog, Json
from telegram_sandbox.seed import SeededWorld, seed_world
from telegram_sandbox.state import User, World
from telegram_sandbox.webhook import WebhookSender

DEFAULT_TOKEN = "7000000001:AAHsandboxTOKENforNezukoDemoOnly0123"
"""The token a sandbox accepts unless told otherwise (well-formed, and fake)."""
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
LOOPBACK = "127.0.0.1"


@attrs.frozen
class SandboxConfig:
    """How a sandbox is set up.

    Attributes:
        port: TCP port on 127.0.0.1; 0 picks a free one.
        token: The one bot token accepted; its number before ":" is the bot's user id.
        bot_username: The bot's username.
        bot_name: The bot's first name.
        seed: Whether to build the small seeded world (a group, two channels, users).
        limits: Flood limits in force at start.
        clock: Clock for the flood limits (monotonic seconds); inject a `ManualClock` in tests.
        webhook_retry_delay: Seconds between retries of a failed webhook delivery.
        webhook_timeout: Seconds the sandbox waits for a webhook receiver to answer.
    """

    port: int = 0
    token: str = DEFAULT_TOKEN
    bot_username: str = "nezuko_sandbox_bot"
    bot_name: str = "Nezuko"
    seed: bool = True
    limits: FloodLimits = attrs.field(factory=FloodLimits)
    clock: Clock = time.monotonic
    webhook_retry_delay: float = 1.0
    webhook_timeout: float = 10.0


class Sandbox:
    """A running sandbox: a local Bot API server with its world, driver, limits and call log.

    Attributes:
        config: How it was set up.
        world: The state behind the API.
        api: The method implementations.
        driver: Plays people and emits the updates Telegram would.
        calls: Every call served, queryable and printable.
        flood: Flood limits (assign `flood.limits` to switch them) and the 429 counters.
        faults: Fault injection for the next calls of a method.
        webhook: The webhook sender (delivery and failure counters).
        seeded: Ids of the seeded world, or None when started without a seed.
        port: The port it listens on.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        bot_id = int(config.token.split(":", 1)[0])
        bot = User(bot_id, config.bot_name, username=config.bot_username, is_bot=True)
        self.world = World(bot)
        self.flood = FloodControl(config.limits, config.clock)
        self.faults = FaultInjector()
        self.calls = CallLog()
        self.api = BotApi(self.world, self.flood)
        self.driver = Driver(self.world)
        self.webhook = WebhookSender(
            self.api, retry_delay=config.webhook_retry_delay, timeout=config.webhook_timeout
        )
        self.seeded: SeededWorld | None = seed_world(self.driver) if config.seed else None
        self.port = 0
        self._runner: web.AppRunner | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, config: SandboxConfig | None = None, **overrides: Any
    ) -> AsyncGenerator["Sandbox"]:
        """Serve a sandbox in this event loop for the duration of an `async with` block.

        Args:
            config: The setup; defaults to `SandboxConfig()`.
            **overrides: Fields of `SandboxConfig` to override (e.g. `seed=False`).

        Yields:
            The running sandbox.
        """
        sandbox = cls(attrs.evolve(config or SandboxConfig(), **overrides))
        await sandbox.open()
        try:
            yield sandbox
        finally:
            await sandbox.close()

    async def open(self) -> None:
        """Start listening on 127.0.0.1 and start the webhook sender."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/", self._root)
        add_control_routes(app, self.driver)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, self.config.port)
        await site.start()
        self._runner = runner
        address: Any = runner.addresses[0]
        self.port = int(address[1])
        self.webhook.start()

    async def close(self) -> None:
        """Stop serving: wake long polls, stop the webhook sender, close the listener."""
        self.api.closing = True
        self.api.wake()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- addresses ----------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The bot token the sandbox accepts."""
        return self.config.token

    @property
    def root_url(self) -> str:
        """The server root, http://127.0.0.1:PORT."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give PTB's `base_url` (it appends the token): http://127.0.0.1:PORT/bot."""
        return f"{self.root_url}/bot"

    @property
    def api_url(self) -> str:
        """The full method prefix, http://127.0.0.1:PORT/bot<token>/."""
        return f"{self.base_url}{self.token}/"

    # --- waits --------------------------------------------------------------------------------

    @property
    def pending_updates(self) -> int:
        """How many updates the bot has not confirmed (or the webhook not accepted) yet."""
        return len(self.world.updates)

    async def wait_delivered(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has taken every pending update.

        With polling an update counts once a later getUpdates confirms it by offset; with a
        webhook, once the receiver answered 2xx.

        Raises:
            TimeoutError: Updates were still pending after `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while self.world.updates:
                await self.api.changed(timeout)

    async def wait_for_poller(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates call has arrived and is waiting (its allowed_updates apply).

        Raises:
            TimeoutError: No long poll was waiting within `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while self.api.polls_waiting == 0:
                await self.api.changed(timeout)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `condition()` holds (re-checked every 10 ms and after every call).

        Raises:
            TimeoutError: It did not hold within `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while not condition():
                with contextlib.suppress(TimeoutError):
                    await self.calls.wait_until(condition, timeout=0.01)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _root(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "sandbox": "Nezuko local Telegram Bot API sandbox (not Telegram)",
                "base_url": self.base_url,
                "token": self.token,
                "methods": self.api.methods,
            }
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        at = time.time()
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            values = await _read_params(request)
        except ApiError as error:
            return self._error(method, {}, at, error)
        if token != self.config.token:
            code, text = (
                (401, "Unauthorized") if _TOKEN_SHAPE.fullmatch(token) else (404, "Not Found")
            )
            return self._error(method, values, at, ApiError(code, text))
        handler = self.api.handler(method)
        if handler is None:
            return self._error(method, values, at, ApiError(404, "Not Found"))
        fault = self.faults.take(method)
        fault_name = fault.name if fault is not None else None
        match fault:
            case RetryAfterFault(retry_after=seconds):
                return self._error(method, values, at, too_many_requests(seconds), fault_name)
            case ServerErrorFault(status=status, description=description):
                error = ApiError(status, description)
                return self._error(method, values, at, error, fault_name)
            case DropFault():
                self.calls.append(method, values, 0, at=at, fault=fault_name)
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            case HangFault(seconds=seconds):
                await asyncio.sleep(seconds)
            case None:
                pass
        try:
            answer = await handler(Params(values))
        except ApiError as error:
            return self._error(method, values, at, error, fault_name)
        body: Json = {"ok": True, "result": answer.result}
        if answer.description is not None:
            body["description"] = answer.description
        self.calls.append(
            method, values, 200, at=at, description=answer.description, fault=fault_name
        )
        return web.json_response(body)

    def _error(
        self,
        method: str,
        values: Json,
        at: float,
        error: ApiError,
        fault: str | None = None,
    ) -> web.Response:
        body: Json = {"ok": False, "error_code": error.code, "description": error.description}
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        self.calls.append(
            method,
            values,
            error.code,
            at=at,
            error_code=error.code,
            description=error.description,
            retry_after=error.retry_after,
            fault=fault,
        )
        return web.json_response(body, status=error.code)


async def _read_params(request: web.Request) -> Json:
    """The parameters from the query string and a JSON, form or multipart body."""
    values: Json = {}
    for key, value in request.query.items():
        values[key] = decode_form_value(key, value)
    if request.method != "POST" or not request.can_read_body:
        return values
    if request.content_type == "application/json":
        try:
            body: Any = json.loads(await request.text() or "{}")
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        values.update(body)  # pyright: ignore[reportUnknownArgumentType]
        return values
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str):
            values[key] = decode_form_value(key, value)
        else:
            values[key] = f"<file {getattr(value, 'filename', key)}>"
    return values
