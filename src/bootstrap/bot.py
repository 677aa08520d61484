"""Running the bot: the PTB application, its handlers, the due-action loop, how updates arrive.

Updates arrive by long polling, or by webhook when `WEBHOOK_URL` and `WEBHOOK_SECRET` are set
(DESIGN §7). The bot's HTTP server (`adapters.http`: `/health`, `/ready`, `/metrics` and the
webhook) runs on `HTTP_HOST:HTTP_PORT` in webhook mode and whenever the caller asks for it
(`nezuko run` always does). `running_bot()` is the whole process minus signal handling, so
`nezuko run`, `nezuko demo` and the end-to-end tests run exactly the same code.

Backpressure (rules 10 and 11): every update taken from Telegram is kept in the intake journal
before Telegram is told it arrived, and what a stop or a crash left unhandled is handled after the
next start; every handler callback is retried after a storage failure until the database answers
again, and meanwhile no update is taken (`StorageGate`). At most `TAKEN_AT_ONCE` updates are held
in memory, and a stop ends within `STOP_BOUND` seconds whatever the backlog.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import InvalidToken
from telegram.ext import Application, ApplicationBuilder

from adapters.http.app import PROBE_PATHS, Webhook, create_app
from adapters.http.server import serving
from adapters.intake import NoPollingLock, PollingLock, UpdateJournal
from adapters.memory.journal import MemoryJournal
from adapters.metrics import DirectoryGauges, set_build_info
from adapters.postgres.embedded import provide_database
from adapters.postgres.engine import create_engine
from adapters.postgres.health import Readiness, database_answers
from adapters.postgres.journal import PostgresJournal
from adapters.postgres.notifications import PostgresInvalidations
from adapters.postgres.polling_lock import PostgresPollingLock
from adapters.postgres.send_budget import PostgresSendBudget
from adapters.postgres.urls import describe_url
from adapters.telegram.backpressure import (
    CoalescedJournal,
    Journaling,
    RetriedOnStorageFailure,
    StorageGate,
    TakenUpdates,
    TakingQueue,
)
from adapters.telegram.handlers import on_error, publish_commands, telegram_handlers
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.plain_talk import read_update
from adapters.telegram.polling import AnotherPoller, Poller, PollingTurns
from adapters.telegram.rate_limiter import SendLimits, TelegramRateLimiter
from adapters.telegram.update_processor import MeasuredUpdateProcessor
from adapters.telegram.updates import ALLOWED_UPDATES
from adapters.telegram.webhook import UpdateIntake
from adapters.to_the_end import all_ended
from application.background import (
    LOG_POST_SECONDS,
    post_logs_forever,
    run_due_actions_forever,
    send_warnings_forever,
)
from application.ports.clock import Clock
from bootstrap.containers import Container, memory_container, postgres_container
from bootstrap.settings import Settings, SettingsError
from bootstrap.startup import wait_for_database, wait_for_telegram
from bootstrap.version import installed_version

log = logging.getLogger(__name__)

type BotApplication = Application[Any, Any, Any, Any, Any, Any]

CONCURRENT_UPDATES = 32
"""Updates handled at once: a 429 wait in one chat must not hold up every other group."""

TAKEN_AT_ONCE = 2_000
"""Updates taken from Telegram and not handled yet, at most, in this process.

They are all in the intake journal too. Polling takes no more while they wait; in webhook mode
deliveries beyond them are refused with 503 (Telegram sends them again). Enough that a command
in a quiet group is taken at once behind a raid's backlog in another (issue 10)."""

STOP_GRACE = 3.0
"""Seconds a stop gives the updates already taken to be handled; past it the rest are cancelled
and stay in the journal for the next start. The whole stop stays within `STOP_BOUND`."""

FINAL_MARK_TIMEOUT = 2.0
"""Seconds a stop gives the journal to learn which updates were handled (those it does not
learn are handled again after the restart: harmless)."""

STOP_BOUND = 10.0
"""Seconds from SIGTERM/SIGINT to exit, under any backlog (README, Operations): the grace, one
second to cancel what it left, two to mark what was handled in the journal, two for the final
getUpdates, and the HTTP server's close (its slowest request, `/ready`, is bounded by its own
timeout)."""

CALLS_END_WITHIN = 2.0
"""Seconds a stop waits for database calls that outlived their cancelled callers (a journal
write, a readiness probe, itself bounded by its 2 s timeout) before the pool is disposed of."""

DUE_ACTIONS_INTERVAL = 1.0
"""Seconds between two runs of the scheduled actions (warning deletions, kicks, unmutes)."""

DUE_ACTIONS_TASK = "nezuko:due-actions"
"""The name of the task that runs them (the bench tells its database use from the updates')."""
POLLING_TASK = "nezuko:polling"
JOURNAL_TASK = "nezuko:journal"
INTAKE_TASKS = (POLLING_TASK, JOURNAL_TASK)
"""The tasks that keep updates in the intake journal and mark them handled (the bench counts
their database use apart: it is per batch of updates, not per update)."""
SENDER_TASK = "nezuko:warnings"
"""The prefix of the paced sender's tasks' names (likewise)."""
LOG_TASK = "nezuko:log-channels"
"""The task that posts audit events to log channels (`/setlog`)."""
NOTIFICATIONS_TASK = "nezuko:notifications"
"""The task that hears the other workers' cache invalidations (issue 15)."""
ADOPT_TASK = "nezuko:journal-adopt"
"""The task that takes over what a dead worker acknowledged and left unhandled (webhook mode)."""
ADOPT_EVERY = 1.0
"""Seconds between two looks for updates a dead worker left in the journal (webhook mode)."""
LISTENING_WAIT = 2.0
"""Seconds the start waits for the notification connection (it goes on without it: the caches
are then dropped every second until it is there)."""


def build_application(
    settings: Settings, send_limits: SendLimits | None = None, taken: TakenUpdates | None = None
) -> BotApplication:
    """The PTB application with our rate limiter, pointed at `TELEGRAM_API_URL`.

    It has no PTB updater: updates come in through our `Poller` or through `UpdateIntake`,
    into a queue that notes each one in `taken` until it is handled.
    `send_limits` defaults to Telegram's (tests against the sandbox run them faster).
    """
    taken = taken if taken is not None else TakenUpdates(TAKEN_AT_ONCE)
    return (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(f"{settings.api_url}/bot")
        .base_file_url(f"{settings.api_url}/file/bot")
        .rate_limiter(TelegramRateLimiter(send_limits))
        .concurrent_updates(MeasuredUpdateProcessor(CONCURRENT_UPDATES, taken))
        .update_queue(TakingQueue(taken))
        .updater(None)
        .build()
    )


def install_handlers(
    application: BotApplication, container: Container, gate: StorageGate | None = None
) -> None:
    """Register every handler, wired to the container's use cases.

    Every callback runs again after a storage failure once the database answers (`gate`), so
    an update already taken is not lost to a database outage (rule 11).
    """
    gate = gate if gate is not None else StorageGate()
    for handler, group in telegram_handlers(container.events(), container.commands()):
        handler.callback = RetriedOnStorageFailure(handler.callback, gate)
        application.add_handler(handler, group)
    application.add_error_handler(on_error)


def webhook_path(settings: Settings) -> str:
    """The path of `WEBHOOK_URL`, where the HTTP server takes Telegram's POSTs.

    Raises:
        SettingsError: The secret is missing, or the path is one of the probes'.
    """
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise SettingsError("WEBHOOK_URL and WEBHOOK_SECRET must be set together")
    path = urlsplit(settings.webhook_url).path or "/"
    if path in PROBE_PATHS or "{" in path:
        raise SettingsError(
            f"WEBHOOK_URL's path must not be {', '.join(sorted(PROBE_PATHS))} or contain braces"
        )
    return path


@contextlib.asynccontextmanager
async def _http_server(
    settings: Settings,
    readiness: Readiness,
    intake: UpdateIntake,
    wanted: bool,
    gauges: DirectoryGauges,
) -> AsyncGenerator[None]:
    """The HTTP server when wanted or in webhook mode; nothing otherwise."""
    if not (wanted or settings.webhook_mode):
        yield
        return
    webhook = None
    if settings.webhook_mode:
        secret = settings.webhook_secret
        assert secret is not None  # webhook_path() checked it
        webhook = Webhook(webhook_path(settings), secret, intake)
    app = create_app(readiness, webhook, gauges)
    async with serving(app, settings.http_host, settings.http_port):
        yield


def _limiter(application: BotApplication) -> TelegramRateLimiter:
    limiter = application.bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)  # build_application made it
    return limiter


def _processor(application: BotApplication) -> MeasuredUpdateProcessor:
    processor = application.update_processor
    assert isinstance(processor, MeasuredUpdateProcessor)  # build_application made it
    return processor


@contextlib.asynccontextmanager
async def taking_updates(
    application: BotApplication,
    settings: Settings,
    intake: UpdateIntake,
    gate: StorageGate | None = None,
    journal: UpdateJournal | None = None,
    *,
    lock: PollingLock | None = None,
    on_fatal: Callable[[BaseException], None] | None = None,
    adopt_every: float | None = None,
) -> AsyncGenerator[asyncio.Event]:
    """Start the application and the flow of updates (webhook or polling).

    First the updates an earlier process kept in the journal and did not handle are queued;
    then every update taken is kept in the journal before Telegram is told it arrived (rule 10).
    In polling mode only the holder of `lock` (the bot's polling lock; none: always held)
    polls: while another process holds it this one stands by (`PollingTurns`), and takes over,
    leftovers first, when the other stops or dies. The block gets an event set while updates
    flow into this process (at once in webhook mode; while the lock is held in polling mode).
    On leaving: stop taking updates, then handle every update already taken, within
    `STOP_GRACE` seconds; what is left then is cancelled and stays in the journal for the next
    start; the lock is released last, once the journal knows what was handled. `journal`
    defaults to one in memory (kept for this process only). Polling that ends by itself
    (Telegram rejects the token; another process polls with it from another database) is
    handed to `on_fatal`, which should stop the process; without it, it is logged.
    `adopt_every` (webhook mode, a journal shared by several workers): every so many seconds,
    take over what a dead worker left in the journal (its leftovers).
    """
    processor = _processor(application)
    gate = gate if gate is not None else StorageGate()
    journaling = Journaling(journal or MemoryJournal(), processor.taken, gate)
    intake.journal = CoalescedJournal(journaling.journal)  # deliveries come one by one
    await application.start()
    turns: PollingTurns | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        if settings.webhook_mode:
            await _replay(application, journaling)
        tasks.append(
            asyncio.create_task(  # noqa: TID251 -- awaited on leaving, below
                journaling.mark_handled_forever(), name=JOURNAL_TASK
            )
        )
        if settings.webhook_mode:
            active = asyncio.Event()
            intake.accepting = True
            await application.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
            active.set()
            log.debug("bot.webhook_set path=%s", webhook_path(settings))
            if adopt_every is not None:
                tasks.append(
                    asyncio.create_task(  # noqa: TID251 -- awaited on leaving, below
                        _adopt_forever(application, journaling, adopt_every), name=ADOPT_TASK
                    )
                )
        else:
            await application.bot.delete_webhook()
            turns = PollingTurns(
                lock if lock is not None else NoPollingLock(),
                poller=functools.partial(
                    Poller,
                    application.bot,
                    application.update_queue,
                    journaling,
                    ALLOWED_UPDATES,
                    conflict_window=settings.startup_timeout,
                ),
                replay=functools.partial(_replay, application, journaling),
            )
            active = turns.active
            polling = asyncio.create_task(  # noqa: TID251 -- awaited on leaving, below
                turns.run(), name=POLLING_TASK
            )
            polling.add_done_callback(functools.partial(_polling_ended, on_fatal=on_fatal))
            tasks.append(polling)
        yield active
    finally:
        intake.accepting = False
        await _stop_intake(journaling, tasks)
        await _handle_taken(processor, processor.taken)
        try:
            async with asyncio.timeout(FINAL_MARK_TIMEOUT):
                await journaling.mark_handled()
        except TimeoutError:
            log.warning("stop.mark_timeout: handled updates will be handled again after restart")
        if turns is not None and turns.current is not None:
            await turns.current.confirm_taken()
        if lock is not None:
            await lock.release()  # a standby takes over from here, finding nothing left
        await application.stop()


async def _adopt_forever(
    application: BotApplication, journaling: Journaling, interval: float
) -> None:
    """Queue, every `interval` seconds, what a dead worker left in the journal (issue 15)."""
    while not journaling.stopping.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await journaling.stopping.wait()
        if not journaling.stopping.is_set():
            await _replay(application, journaling)


async def _replay(application: BotApplication, journaling: Journaling) -> int:
    """Queue what the journal kept and no process handled; how many (rule 10).

    Updates this process still holds (it stood by again after losing the polling lock, and
    took the lock back) are not queued twice.
    """
    leftovers = [
        raw
        for raw in await journaling.leftovers()
        if not journaling.taken.holds(int(raw["update_id"]))
    ]
    for raw in leftovers:
        await application.update_queue.put(read_update(raw, application.bot))
    if leftovers:
        log.info("bot.leftovers updates=%s", len(leftovers))
    return len(leftovers)


def _polling_ended(
    task: asyncio.Task[None], *, on_fatal: Callable[[BaseException], None] | None
) -> None:
    """Hand an error that ended polling to `on_fatal` (an operator's problem: no traceback)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is None:
        return
    if on_fatal is not None:
        on_fatal(error)
    elif isinstance(error, AnotherPoller | InvalidToken):
        log.error("polling.stopped error=%s", error)
    else:
        log.error("polling.stopped", exc_info=error)


async def _stop_intake(journaling: Journaling, tasks: list[asyncio.Task[None]]) -> None:
    """Stop polling (cancelled in its long poll) and end the marking after its round."""
    journaling.stopping.set()  # the marking ends after its round (a last one follows)
    for task in reversed(tasks):  # polling first: cancelled in its long poll
        if task.get_name() in (POLLING_TASK, ADOPT_TASK):
            task.cancel()
        try:
            async with asyncio.timeout(FINAL_MARK_TIMEOUT):  # a hung database: cancelled
                await task
        except (asyncio.CancelledError, TimeoutError):
            pass
        except (AnotherPoller, InvalidToken):
            pass  # `_polling_ended` reported it
        except Exception:
            log.exception("intake.stopped task=%s", task.get_name())


async def _handle_taken(processor: MeasuredUpdateProcessor, taken: TakenUpdates) -> None:
    """Wait up to `STOP_GRACE` for every taken update to be handled; cancel what is left."""
    try:
        async with asyncio.timeout(STOP_GRACE):
            while taken.count:
                await taken.changed()
        return
    except TimeoutError:
        cancelled = processor.cancel_unhandled()
        log.warning(
            "stop.out_of_time unhandled=%s cancelled=%s: they stay in the journal for the next "
            "start",
            taken.count,
            cancelled,
        )
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            while taken.count:
                await taken.changed()


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    clock: Clock | None = None,
    serve_http: bool = False,
    send_limits: SendLimits | None = None,
    memory: bool = False,
    on_fatal: Callable[[BaseException], None] | None = None,
) -> AsyncGenerator[BotApplication]:
    """The bot, taking updates and enforcing, for as long as the block runs.

    The HTTP server starts first (so `/health` answers while an embedded database starts) when
    `serve_http` is set or in webhook mode; `/ready` turns 200 once updates flow. On leaving:
    stop taking updates (webhook deliveries are refused with 503 from then on, and Telegram
    sends them again later), stop the scheduled-action loop, handle every update already taken
    within `STOP_GRACE` (rule 10; what is left stays in the journal for the next start), close the
    bot, dispose of the database pool, stop an embedded database, close the HTTP server.

    Args:
        settings: The process's settings (the database's among them: `DATABASE_URL`, else
            the embedded server under `NEZUKO_DATA_DIR`).
        clock: Replaces the system clock (tests move time forward with it).
        serve_http: Serve `/health`, `/ready` and `/metrics` in polling mode too.
        send_limits: How fast to send; Telegram's limits unless given.
        memory: Keep state in process memory instead of PostgreSQL (lost on exit).
        on_fatal: Told when taking updates ends by itself (the token rejected, another process
            polling with it); it should end the block.

    Raises:
        CannotListen: The HTTP server could not bind `HTTP_HOST:HTTP_PORT`.
        SettingsError: Webhook mode is configured inconsistently.
        DependencyUnreachable: The database or Telegram did not answer within
            `NEZUKO_STARTUP_TIMEOUT` (`bootstrap.startup`).
    """
    application = build_application(settings, send_limits)
    taken, gate = _processor(application).taken, StorageGate()
    readiness, gauges = Readiness(), DirectoryGauges()
    set_build_info(installed_version())
    intake = UpdateIntake(application, room=lambda: gate.open.is_set() and taken.has_room)
    async with (
        _http_server(settings, readiness, intake, serve_http, gauges),
        _runtime_engine(settings, memory) as engine,
    ):
        readiness.engine = engine
        if engine is not None:
            gate.probe = functools.partial(database_answers, engine)
        messenger = TelegramMessenger(application.bot)
        _processor(application).lost = messenger.lost
        _limiter(application).on_sent = messenger.lost.sent
        container = (
            memory_container(messenger, clock)
            if engine is None
            else postgres_container(messenger, engine, clock)
        )
        container.check_dependencies()  # a provider left unwired fails here, not on an update
        gauges.directory, gauges.clock = container.directory(), container.clock()
        install_handlers(application, container, gate)
        await wait_for_telegram(application.bot, settings.api_url, settings.startup_timeout)
        async with (
            application,
            _journal_engine(engine) as journal_engine,
            _journal_engine(engine, "nezuko:send-budget") as budget_engine,
            _hearing_other_workers(container) as invalidations,
        ):
            if budget_engine is not None:  # one send budget for every worker (issue 15)
                limiter = _limiter(application)
                limiter.shared = PostgresSendBudget(budget_engine, limiter.limits.rates())
            journal = (
                MemoryJournal()
                if journal_engine is None or invalidations is None
                else PostgresJournal(
                    journal_engine, application.bot.id, owner=lambda: invalidations.session_pid
                )
            )
            lock = None if engine is None else PostgresPollingLock(engine, application.bot.id)
            await publish_commands(application)
            async with taking_updates(
                application,
                settings,
                intake,
                gate,
                journal,
                lock=lock,
                on_fatal=on_fatal,
                adopt_every=None if engine is None else ADOPT_EVERY,
            ) as active:
                # A standby runs no loop: the active process runs them (issue 15).
                loops = [
                    asyncio.create_task(  # noqa: TID251 -- awaited on leaving, below
                        _once(
                            active,
                            lambda: run_due_actions_forever(
                                container.run_due_actions(), DUE_ACTIONS_INTERVAL
                            ),
                        ),
                        name=DUE_ACTIONS_TASK,
                    ),
                    asyncio.create_task(  # noqa: TID251 -- awaited on leaving, below
                        _once(
                            active,
                            lambda: send_warnings_forever(
                                container.senders(),
                                outbox=container.outbox(),
                                directory=container.directory(),
                                clock=container.clock(),
                                messenger=container.messenger(),
                                name=SENDER_TASK,
                            ),
                        ),
                        name=SENDER_TASK,
                    ),
                    asyncio.create_task(  # noqa: TID251 -- awaited on leaving, below
                        post_logs_forever(
                            container.post_audit_log(), container.directory(), LOG_POST_SECONDS
                        ),
                        name=LOG_TASK,
                    ),
                ]
                readiness.standby = lambda: not active.is_set()
                readiness.started = True
                log.info(
                    "bot.started",
                    extra={
                        "bot": f"@{application.bot.username}",
                        "version": installed_version(),
                        "mode": "webhook" if settings.webhook_mode else "polling",
                        "database": _database_label(settings, memory),
                    },
                )
                try:
                    yield application
                finally:
                    readiness.started = False
                    for loop in loops:
                        loop.cancel()
                    for loop in loops:
                        with contextlib.suppress(asyncio.CancelledError):
                            await loop


def _database_label(settings: Settings, memory: bool) -> str:
    """Which database the bot uses, for the start-up line: never a password."""
    if memory:
        return "memory"
    if settings.database_url:
        return describe_url(settings.database_url)
    return f"embedded data_dir={settings.data_dir}"


async def _once(active: asyncio.Event, loop: Callable[[], Awaitable[None]]) -> None:
    """Run `loop` once this process takes updates (a standby waits for its turn first)."""
    await active.wait()
    await loop()


@contextlib.asynccontextmanager
async def _hearing_other_workers(
    container: Container,
) -> AsyncGenerator[PostgresInvalidations | None]:
    """Hear the other workers' cache invalidations while the block runs (PostgreSQL only)."""
    invalidations = container.invalidations()
    if not isinstance(invalidations, PostgresInvalidations):
        yield None
        return
    caches = container.cache_invalidation()
    hearing = asyncio.create_task(  # noqa: TID251 -- cancelled and awaited on leaving, below
        invalidations.listen_forever(caches.apply, caches.forget_everything),
        name=NOTIFICATIONS_TASK,
    )
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LISTENING_WAIT):
            await invalidations.listening.wait()
    try:
        yield invalidations
    finally:
        hearing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hearing


@contextlib.asynccontextmanager
async def _journal_engine(
    engine: AsyncEngine | None, name: str = "nezuko:journal"
) -> AsyncGenerator[AsyncEngine | None]:
    """The intake journal's own small pool on the runtime's database, without the pre-ping.

    Its statements are on polling's critical path (the next getUpdates waits for them): the
    pre-ping would cost three round trips each; the journal drops a connection that failed.
    The shared send budget has a pool of the same kind (`name` `nezuko:send-budget`).
    """
    if engine is None:
        yield None
        return
    url = engine.url.render_as_string(hide_password=False)
    journal_engine = create_engine(
        url, pool_size=2, max_overflow=1, application_name=name, pre_ping=False
    )
    try:
        yield journal_engine
    finally:
        await journal_engine.dispose()


@contextlib.asynccontextmanager
async def _runtime_engine(settings: Settings, memory: bool) -> AsyncGenerator[AsyncEngine | None]:
    """The runtime's engine over the provided database, or None when state is kept in memory.

    On leaving: the pool is disposed of and an embedded database stopped.
    """
    if memory:
        log.warning("bot.memory_mode state is kept in process memory and lost when it stops")
        yield None
        return
    database = provide_database(
        settings.data_dir, settings.database_url, settings.database_admin_url
    )
    async with database as urls:
        engine = await wait_for_database(urls.runtime, settings.startup_timeout)
        try:
            yield engine
        finally:
            await all_ended(CALLS_END_WITHIN)  # a journal write or probe a stop cut loose
            await engine.dispose()
