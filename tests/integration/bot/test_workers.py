"""Issue 15: three `nezuko run` webhook workers behind a load balancer behave as one bot.

Three real processes share one PostgreSQL database; the sandbox (Telegram's flood limits on)
POSTs every update to a small round-robin proxy the test runs, which hands each delivery to the
next worker (or to the one the test pins, so that a scenario can say which worker handles what;
a worker that does not answer is skipped, as nginx's `proxy_next_upstream error` does). Each
scenario runs in a group of its own:

1. a member who left a channel (handled by one worker) is muted on their next message, handled by
   another that had cached them as subscribed (cross-worker cache invalidation); likewise an
   exemption given through one worker holds on the next message another handles;
2. a 20-message burst by one member who has not joined, spread over the workers, gets one mute
   and one warning (the database-side burst guard);
3. 200 members who have not joined write into one group across the workers: every one is muted
   and named in a warning, no send draws a 429 and at most 20 go into the group in any minute
   (the shared send budget; real time, so the test covers the first minute: 5 at once, then
   one every 4.3 s, every warning merged as the intents queue up);
4. a scheduled action (the deletion of scenario 2's warning, `warning_ttl 10s`) runs once;
5. a worker killed with SIGKILL while handling updates it had acknowledged (its getChatMember
   calls held by the sandbox) loses none: the other workers take them over within seconds.
"""

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import httpx
from aiohttp import web

from adapters.postgres.embedded import free_ports
from telegram_sandbox import AdminRights, Call, HangFault, Member, Sandbox, Status
from tests.integration.bot.processes import base_environment, kill_all, start_nezuko, status
from tests.integration.conftest import DatabaseFactory

WORKERS = 3
SECRET = "nezuko-workers-test-secret"
PATH = "/telegram/webhook"
PATIENCE = 30.0
PROTECT = "/protect @nezuko_demo_news"

LEAVER = 800_001
SPAMMER = 800_002
EXEMPTED = 800_003
BURST = 20
FLOOD = tuple(range(810_000, 810_200))
HELD_MEMBERS = tuple(range(820_000, 820_005))
HELD = 120.0
"""Seconds the sandbox holds the killed worker's getChatMember calls (past the test)."""
TAKEOVER = 10.0
"""Seconds from the kill within which the other workers must have handled what it held."""

BURST_GROUP = -1001000000101
FLOOD_GROUP = -1001000000102
KILL_GROUP = -1001000000103


class RoundRobinProxy:
    """An HTTP load balancer for the workers' webhook: round robin, or pinned by the test."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.handled_by: dict[int, int] = {}
        """Update id -> the worker (index) that acknowledged it."""
        self._next = 0
        self._pinned: list[int] = []
        self._session: aiohttp.ClientSession | None = None

    def pin(self, worker: int, times: int = 1) -> None:
        """Hand the next `times` deliveries to `worker`."""
        self._pinned.extend([worker] * times)

    @asynccontextmanager
    async def serving(self, port: int) -> AsyncGenerator[None]:
        app = web.Application()
        app.router.add_post(PATH, self._forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            yield
        finally:
            await self._session.close()
            await runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        update_id = int(json.loads(body)["update_id"])
        if self._pinned:
            first = self._pinned.pop(0)
        else:
            first, self._next = self._next, (self._next + 1) % len(self.upstreams)
        for step in range(len(self.upstreams)):
            worker = (first + step) % len(self.upstreams)
            try:
                async with self._session.post(
                    self.upstreams[worker], data=body, headers=dict(request.headers)
                ) as answer:
                    text = await answer.read()
                    if 200 <= answer.status < 300:
                        self.handled_by[update_id] = worker
                    return web.Response(status=answer.status, body=text)
            except aiohttp.ClientConnectionError:
                continue  # a dead worker: the next one
        return web.Response(status=502)


def _texts(calls: list[Call]) -> list[str]:
    return [str(c.param("text")) for c in calls if c.ok]


def _most_in_a_minute(calls: list[Call]) -> int:
    stamps = sorted(c.at for c in calls if c.ok)
    return max((sum(1 for t in stamps if s <= t < s + 60.0) for s in stamps), default=0)


async def test_three_webhook_workers_behave_as_one_bot(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    database = await database_factory()
    async with Sandbox.start(webhook_retry_delay=0.05) as sandbox:  # flood limits on
        seeded = sandbox.seeded
        assert seeded is not None
        driver, owner, bot = sandbox.driver, seeded.owner_id, seeded.bot_id
        for group_id in (BURST_GROUP, FLOOD_GROUP, KILL_GROUP):
            driver.supergroup(group_id, f"Group {group_id}", owner_id=owner)
            rights = AdminRights.moderator()
            driver.place(group_id, Member(bot, Status.ADMINISTRATOR, rights=rights))
        proxy_port, *ports = free_ports(1 + WORKERS)
        proxy = RoundRobinProxy([f"http://127.0.0.1:{port}{PATH}" for port in ports])
        environ = base_environment(sandbox.token, sandbox.root_url, database.runtime_url) | {
            "WEBHOOK_URL": f"http://127.0.0.1:{proxy_port}{PATH}",
            "WEBHOOK_SECRET": SECRET,
        }
        logs = tuple(tmp_path / f"worker{n}.log" for n in range(WORKERS))
        processes: list[asyncio.subprocess.Process] = []
        started = time.monotonic()
        async with proxy.serving(proxy_port):
            try:
                for port, log in zip(ports, logs, strict=True):
                    env = environ | {"HTTP_PORT": str(port)}
                    processes.append(await start_nezuko(env, log, tmp_path))
                for port in ports:
                    await _ready(port, logs)
                try:
                    await _scenarios(sandbox, proxy, processes)
                except BaseException:
                    for log in logs:  # what each worker said, for the failure's report
                        print(f"--- {log.name}\n{log.read_text()[-6000:]}")
                    raise
            finally:
                await kill_all(processes)
        print(f"three workers: {time.monotonic() - started:.1f} s in all")


async def _ready(port: int, logs: tuple[Path, ...]) -> None:
    """Wait until the worker on `port` answers `/ready` 200 (or fail with the logs)."""
    deadline = time.monotonic() + 60.0
    while True:
        try:
            if await status(port, "/ready") == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("\n".join(log.read_text()[-3000:] for log in logs))
        await asyncio.sleep(0.2)


async def _scenarios(
    sandbox: Sandbox,
    proxy: RoundRobinProxy,
    processes: list[asyncio.subprocess.Process],
) -> None:
    seeded = sandbox.seeded
    assert seeded is not None
    driver, calls, faults = sandbox.driver, sandbox.calls, sandbox.faults
    group, owner, news = seeded.group_id, seeded.owner_id, seeded.news_channel_id

    # Every group protected, through whichever worker; a change of settings races the
    # creation of its group on another worker: the loser runs again, nobody is told to retry.
    for group_id in (group, BURST_GROUP, FLOOD_GROUP, KILL_GROUP):
        driver.say(group_id, owner, PROTECT)
        if group_id == BURST_GROUP:
            driver.say(BURST_GROUP, owner, "/settings warning_ttl 10s")
    await calls.wait_until(
        lambda: sum("Protection is on" in t for t in _texts(calls.of("sendMessage"))) == 4,
        timeout=PATIENCE,
    )
    await calls.wait_until(
        lambda: any("warning_ttl" in t for t in _texts(calls.of("sendMessage"))),
        timeout=PATIENCE,
    )
    assert not any("went wrong" in t for t in _texts(calls.of("sendMessage")))

    # 1. A member cached as subscribed by worker 0 leaves the channel (worker 1 hears it) while
    #    outside the group, comes back and writes through worker 0 again.
    driver.user(LEAVER, "Leaver")
    driver.place(group, Member(LEAVER, Status.MEMBER))
    driver.place(news, Member(LEAVER, Status.MEMBER))
    mark = calls.mark()
    proxy.pin(0)
    driver.say(group, LEAVER, "hello")
    await calls.wait_for(
        "getChatMember", lambda c: c.param("user_id") == LEAVER, since=mark, timeout=PATIENCE
    )
    await asyncio.sleep(0.5)  # the answer cached
    driver.place(group, Member(LEAVER, Status.LEFT))
    mark = calls.mark()
    proxy.pin(1)
    driver.leave(news, LEAVER)
    await calls.wait_for(  # worker 1 asks whether they are in the group (they are not)
        "getChatMember",
        lambda c: c.param("user_id") == LEAVER and c.param("chat_id") == group,
        since=mark,
        timeout=PATIENCE,
    )
    await asyncio.sleep(0.5)
    driver.place(group, Member(LEAVER, Status.MEMBER))
    proxy.pin(0)
    said = driver.say(group, LEAVER, "back again").message_id
    await sandbox.wait_until(
        lambda: driver.is_restricted(group, LEAVER) and driver.message(group, said) is None,
        timeout=10.0,
    )

    # 1b. Worker 0 has the group's settings cached (it just muted the leaver there); an admin
    #     exempts a member who has not joined through worker 1; the member then writes through
    #     worker 0, which must know of the exemption.
    driver.user(EXEMPTED, "Exempted")
    driver.place(group, Member(EXEMPTED, Status.MEMBER))
    mark = calls.mark()
    proxy.pin(1)
    driver.say(group, owner, f"/exempt {EXEMPTED}")
    await calls.wait_for(  # the answer
        "sendMessage", lambda c: c.ok and c.param("chat_id") == group, since=mark, timeout=PATIENCE
    )
    await asyncio.sleep(0.5)
    proxy.pin(0)
    exempted_said = driver.say(group, EXEMPTED, "may I?").message_id
    await asyncio.sleep(2.0)  # time enough to be muted, were the exemption unknown there
    assert not driver.is_restricted(group, EXEMPTED)
    assert driver.message(group, exempted_said) is not None

    # 2. A burst of 20 messages by a member who has not joined, over the three workers.
    driver.user(SPAMMER, "Spammer")
    driver.place(BURST_GROUP, Member(SPAMMER, Status.MEMBER))
    mark = calls.mark()
    burst = [driver.say(BURST_GROUP, SPAMMER, f"spam {n}").message_id for n in range(BURST)]
    await sandbox.wait_until(
        lambda: (
            driver.is_restricted(BURST_GROUP, SPAMMER)
            and all(driver.message(BURST_GROUP, m) is None for m in burst)
        ),
        timeout=PATIENCE,
    )

    def warnings_of(name: str, group_id: int, since: int) -> list[Call]:
        return [
            c
            for c in calls.of("sendMessage", since=since)
            if c.ok and c.param("chat_id") == group_id and name in str(c.param("text"))
        ]

    await calls.wait_until(lambda: bool(warnings_of("Spammer", BURST_GROUP, mark)), timeout=10)
    await asyncio.sleep(2.0)  # time for a second mute or warning, if any
    restricts = [
        c
        for c in calls.of("restrictChatMember", since=mark)
        if c.ok and c.param("user_id") == SPAMMER
    ]
    spam_updates = sorted(proxy.handled_by)[-BURST:]
    assert len({proxy.handled_by[u] for u in spam_updates}) == WORKERS
    assert len(restricts) == 1, [c.line() for c in restricts]
    spam_warnings = warnings_of("Spammer", BURST_GROUP, mark)
    assert len(spam_warnings) == 1, [c.line() for c in spam_warnings]

    # 3. 200 members who have not joined write into one group across the workers.
    flood_started = calls.mark()
    for member in FLOOD:
        driver.user(member, f"Flood{member}")
        driver.place(FLOOD_GROUP, Member(member, Status.MEMBER))
    for member in FLOOD:
        driver.say(FLOOD_GROUP, member, "hi")

    def named() -> set[int]:
        texts = _texts(
            [
                c
                for c in calls.of("sendMessage", since=flood_started)
                if c.param("chat_id") == FLOOD_GROUP
            ]
        )
        return {m for m in FLOOD if any(f"Flood{m}" in t for t in texts)}

    await sandbox.wait_until(
        lambda: all(driver.is_restricted(FLOOD_GROUP, m) for m in FLOOD), timeout=PATIENCE
    )
    await sandbox.wait_until(lambda: len(named()) == len(FLOOD), timeout=45.0)
    into_group = [
        c
        for c in calls.of("sendMessage", since=flood_started)
        if c.param("chat_id") == FLOOD_GROUP
    ]
    assert sandbox.flood.served_total == 0, Counter(sandbox.flood.served)
    assert not [c for c in calls.of("sendMessage") if c.error_code == 429]
    assert _most_in_a_minute(into_group) <= 20, len(into_group)

    # 4. The deletion of scenario 2's warning (`warning_ttl 10s`) ran once.
    warned_at = spam_warnings[0].at

    def expired() -> list[Call]:  # deletions in the group after warning_ttl: the warning's
        return [
            c
            for c in calls.of("deleteMessage")
            if c.param("chat_id") == BURST_GROUP and c.at > warned_at + 9
        ]

    await calls.wait_until(lambda: bool(expired()), timeout=PATIENCE)
    await asyncio.sleep(2.0)  # time for a second run, if any
    assert len(expired()) == 1, [c.line() for c in expired()]

    # 5. Worker 2 is killed while it holds acknowledged updates it has not handled.
    for member in HELD_MEMBERS:
        driver.user(member, f"Held{member}")
        driver.place(KILL_GROUP, Member(member, Status.MEMBER))
    faults.inject("getChatMember", HangFault(HELD), times=len(HELD_MEMBERS))
    proxy.pin(2, times=len(HELD_MEMBERS))
    held = {m: driver.say(KILL_GROUP, m, "hello").message_id for m in HELD_MEMBERS}
    await sandbox.wait_until(lambda: faults.pending("getChatMember") == 0, timeout=PATIENCE)
    await sandbox.wait_delivered(timeout=PATIENCE)
    processes[2].kill()
    await processes[2].wait()
    killed = time.monotonic()
    await sandbox.wait_until(
        lambda: all(
            driver.is_restricted(KILL_GROUP, m) and driver.message(KILL_GROUP, i) is None
            for m, i in held.items()
        ),
        timeout=PATIENCE,
    )
    took = time.monotonic() - killed
    assert took <= TAKEOVER, f"handled {took:.1f} s after the kill"
