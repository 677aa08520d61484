"""The paced sender's loop: warning intents into Telegram, a group at a time (rule 11).

Woken at once when a use case stores an intent (`InMemoryOutbox`), and every second anyway, so
deferred intents and those a previous process left are found too. Each group is drained by one
task at a time, so its intents merge while its send budget is spent; groups are served side by
side, so a slow group never holds up another.
"""

import asyncio
import logging

from adapters.memory.outbox import InMemoryOutbox
from application.ports.clock import Clock
from application.ports.unit_of_work import TenantDirectory
from application.use_cases.send_warnings import SendWarnings
from domain.ids import GroupId

log = logging.getLogger(__name__)

SENDER_TASK = "nezuko:warnings"
"""The name of the sender's tasks (the bench tells their database use from the updates')."""
POLL_SECONDS = 1.0
"""How long the sender sleeps when nobody rings."""
GROUPS_AT_ONCE = 32
"""Groups whose warnings are being sent at the same time."""


async def send_warnings_forever(
    sender: SendWarnings, outbox: InMemoryOutbox, directory: TenantDirectory, clock: Clock
) -> None:
    """Send warnings until cancelled; a failing round is logged and the loop goes on."""
    busy: set[GroupId] = set()
    slots = asyncio.Semaphore(GROUPS_AT_ONCE)

    async def drain(group_id: GroupId) -> None:
        try:
            async with slots:
                while not (await sender.execute(group_id)).idle:
                    pass
        except Exception:
            log.exception("warnings.failed group=%s", group_id)
        finally:
            busy.discard(group_id)

    async with asyncio.TaskGroup() as tasks:
        while True:
            groups = await outbox.woken(POLL_SECONDS)
            if not groups:
                try:
                    groups = frozenset(await directory.groups_with_due_actions(clock.now()))
                except Exception:
                    log.exception("warnings.poll_failed")
                    continue
            for group_id in groups - busy:
                busy.add(group_id)
                tasks.create_task(drain(group_id), name=f"{SENDER_TASK}:{group_id}")
