"""The bot's background work: due actions and the paced sender, each a loop over a use case.

Rule 10: deferred work lives in the database; these loops run it. Rule 11: the sender is woken
at once when a use case stores a warning or notice intent (`Outbox`), and polls every second
anyway, so deferred intents and those a previous process left are found too: one directory
query for the groups with an intent of the sender's kinds due (`PACED_KINDS`), so a second
with nothing to send costs one query however many groups there are. Each group is
drained by one task at a time, so its intents merge while its send budget is spent, and a notice
goes only when no warning is due there (notices come last); groups are served side by side, so a
slow group never holds up another.

A database outage is expected and says so in one warning line without a traceback, at most once
a minute per loop (`OutageLog`), and one line when it is over; any other failure is a bug and is
logged with its traceback.
"""

import asyncio
import logging

import attrs

from application.errors import StorageError
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.outbox import Outbox
from application.ports.unit_of_work import TenantDirectory
from application.use_cases.post_audit_log import PostAuditLog
from application.use_cases.refresh_raid import RefreshRaid
from application.use_cases.run_due_actions import RunDueActions
from application.use_cases.send_answers import SendAnswers
from application.use_cases.send_gate_invitations import SendGateInvitations
from application.use_cases.send_notices import SendNotices
from application.use_cases.send_warnings import SendWarnings
from domain.ids import GroupId
from domain.schedule import PACED_KINDS

log = logging.getLogger(__name__)

SENDER_POLL_SECONDS = 1.0
"""How long the sender sleeps when nobody rings."""
GROUPS_AT_ONCE = 32
"""Groups whose warnings are being sent at the same time."""
LOG_POST_SECONDS = 5.0
"""Seconds between two posts to one group's log channel: 12 a minute, under the channel's 20,
each holding every event of those seconds (up to `post_audit_log.EVENTS_PER_POST`)."""
OUTAGE_REPORT_SECONDS = 60.0
"""Seconds between two lines about the same database outage."""


@attrs.define
class OutageLog:
    """Says that the database is down once per `every` seconds, and when it is back.

    Attributes:
        event: The log event's name (`due_actions.failed`).
        every: Seconds between two lines while the failures go on.
        failures: Failures since the last line.
        since: When the outage began (event-loop time), None while the database answers.
    """

    event: str
    every: float = OUTAGE_REPORT_SECONDS
    failures: int = 0
    since: float | None = None
    _reported: float | None = None

    def failed(self, error: StorageError) -> None:
        """Count a storage failure; one warning line at the first, then once per `every`."""
        now = asyncio.get_running_loop().time()
        self.failures += 1
        if self.since is None:
            self.since = now
        if self._reported is None or now - self._reported >= self.every:
            log.warning(
                "%s error=%r failures=%s down_for=%.0fs: the database does not answer; "
                "trying again",
                self.event,
                str(error),
                self.failures,
                now - self.since,
            )
            self._reported, self.failures = now, 0

    def succeeded(self) -> None:
        """One line when an outage is over."""
        if self.since is None:
            return
        down = asyncio.get_running_loop().time() - self.since
        log.warning("%s.recovered down_for=%.0fs", self.event, down)
        self.since = self._reported = None
        self.failures = 0


async def run_due_actions_forever(runner: RunDueActions, interval: float) -> None:
    """Run due actions until cancelled; a failing run is logged and the loop goes on."""
    outage = OutageLog("due_actions.failed")
    while True:
        try:
            report = await runner.execute()
            outage.succeeded()
            if report.done or report.retried or report.abandoned:
                # Deferrals alone are not news: each action says when it is worth a line.
                level = logging.INFO if report.done or report.abandoned else logging.DEBUG
                log.log(
                    level,
                    "due_actions.ran",
                    extra={
                        "done": report.done,
                        "retried": report.retried,
                        "abandoned": report.abandoned,
                    },
                )
        except StorageError as error:
            outage.failed(error)
        except Exception:
            log.exception("due_actions.failed")
        await asyncio.sleep(interval)


@attrs.frozen
class Senders:
    """What the paced sender runs in each group.

    In this order: answers to people (deferred answers to commands, then the join gate's
    private messages, rule 14), warnings, the raid notice (rule 13), then notices to admins.
    """

    answers: SendAnswers
    invitations: SendGateInvitations
    warnings: SendWarnings
    raid: RefreshRaid
    notices: SendNotices


async def drain_group(senders: Senders, group_id: GroupId) -> None:
    """Send what is due in one group, in the order of `Senders`; a notice when nothing is left."""
    while True:
        if not (await senders.answers.execute(group_id)).idle:
            continue
        if not (await senders.invitations.execute(group_id)).idle:
            continue
        if not (await senders.warnings.execute(group_id)).idle:
            continue
        if not (await senders.raid.execute(group_id)).idle:
            continue
        if (await senders.notices.execute(group_id)).idle:
            return


async def send_warnings_forever(
    senders: Senders,
    *,
    outbox: Outbox,
    directory: TenantDirectory,
    clock: Clock,
    messenger: Messenger,
    name: str,
) -> None:
    """Send what is due in every group until cancelled; a failing round is logged.

    Each round also has the messenger retire what timed-out sends delivered after all.
    `name` prefixes the names of the tasks that drain each group.
    """
    busy: set[GroupId] = set()
    slots = asyncio.Semaphore(GROUPS_AT_ONCE)
    polling, draining = OutageLog("warnings.poll_failed"), OutageLog("warnings.failed")

    async def drain(group_id: GroupId) -> None:
        try:
            async with slots:
                await drain_group(senders, group_id)
            draining.succeeded()
        except StorageError as error:
            draining.failed(error)
        except Exception:
            log.exception("warnings.failed group=%s", group_id)
        finally:
            busy.discard(group_id)

    async with asyncio.TaskGroup() as tasks:
        while True:
            groups = await outbox.woken(SENDER_POLL_SECONDS)
            await messenger.retire_lost_sends()  # never raises
            if not groups:
                try:
                    groups = frozenset(
                        await directory.groups_with_due_actions(clock.now(), PACED_KINDS)
                    )
                    polling.succeeded()
                except StorageError as error:
                    polling.failed(error)
                    continue
                except Exception:
                    log.exception("warnings.poll_failed")
                    continue
            for group_id in groups - busy:
                busy.add(group_id)
                tasks.create_task(drain(group_id), name=f"{name}:{group_id}")


async def post_logs_forever(
    poster: PostAuditLog, directory: TenantDirectory, every: float
) -> None:
    """Post each group's new audit events to its log channel every `every` seconds.

    One message per group a round, until cancelled; a failing round is logged, the loop goes on.
    """
    outage = OutageLog("log.failed")
    while True:
        try:
            for group_id in await directory.groups_with_unposted_log():
                await poster.execute(group_id)
            outage.succeeded()
        except StorageError as error:
            outage.failed(error)
        except Exception:
            log.exception("log.failed")
        await asyncio.sleep(every)
