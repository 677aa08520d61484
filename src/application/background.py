"""The bot's background work: due actions and the paced sender, each a loop over a use case.

Rule 10: deferred work lives in the database; these loops run it. Rule 11: the sender is woken
at once when a use case stores a warning or notice intent (`Outbox`), and polls every second
anyway, so deferred intents and those a previous process left are found too. Each group is
drained by one task at a time, so its intents merge while its send budget is spent, and a notice
goes only when no warning is due there (notices come last); groups are served side by side, so a
slow group never holds up another.
"""

import asyncio
import logging

from application.ports.clock import Clock
from application.ports.outbox import Outbox
from application.ports.unit_of_work import TenantDirectory
from application.use_cases.run_due_actions import RunDueActions
from application.use_cases.send_notices import SendNotices
from application.use_cases.send_warnings import SendWarnings
from domain.ids import GroupId

log = logging.getLogger(__name__)

SENDER_POLL_SECONDS = 1.0
"""How long the sender sleeps when nobody rings."""
GROUPS_AT_ONCE = 32
"""Groups whose warnings are being sent at the same time."""


async def run_due_actions_forever(runner: RunDueActions, interval: float) -> None:
    """Run due actions until cancelled; a failing run is logged and the loop goes on."""
    while True:
        try:
            report = await runner.execute()
            if report.done or report.retried or report.abandoned:
                # Deferrals alone are not news: each action says when it is worth a line.
                level = logging.INFO if report.done or report.abandoned else logging.DEBUG
                log.log(
                    level,
                    "due_actions done=%s retried=%s abandoned=%s",
                    report.done,
                    report.retried,
                    report.abandoned,
                )
        except Exception:
            log.exception("due_actions.failed")
        await asyncio.sleep(interval)


async def drain_group(sender: SendWarnings, notices: SendNotices, group_id: GroupId) -> None:
    """Send what is due in one group: every warning first, then a notice when none is left."""
    while True:
        if not (await sender.execute(group_id)).idle:
            continue
        if (await notices.execute(group_id)).idle:
            return


async def send_warnings_forever(
    sender: SendWarnings,
    notices: SendNotices,
    outbox: Outbox,
    directory: TenantDirectory,
    clock: Clock,
    *,
    name: str,
) -> None:
    """Send warnings, then notices, until cancelled; a failing round is logged, the loop goes on.

    `name` prefixes the names of the tasks that drain each group.
    """
    busy: set[GroupId] = set()
    slots = asyncio.Semaphore(GROUPS_AT_ONCE)

    async def drain(group_id: GroupId) -> None:
        try:
            async with slots:
                await drain_group(sender, notices, group_id)
        except Exception:
            log.exception("warnings.failed group=%s", group_id)
        finally:
            busy.discard(group_id)

    async with asyncio.TaskGroup() as tasks:
        while True:
            groups = await outbox.woken(SENDER_POLL_SECONDS)
            if not groups:
                try:
                    groups = frozenset(await directory.groups_with_due_actions(clock.now()))
                except Exception:
                    log.exception("warnings.poll_failed")
                    continue
            for group_id in groups - busy:
                busy.add(group_id)
                tasks.create_task(drain(group_id), name=f"{name}:{group_id}")
