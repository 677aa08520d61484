"""`/log`: the group's recent audit trail (rule 9), newest first."""

import attrs

from application.authorization import ensure_can_configure
from application.paging import ListCommand, Page, page_of
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent

LOG_DEPTH = 100
"""How far back `/log` pages: the newest events, ten pages of them."""


@attrs.frozen
class ShowLog:
    """Show what the bot and the admins did lately (who, what, whom, why, when). Admins only."""

    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, command: ListCommand) -> Page[AuditEvent]:
        """Read the newest `LOG_DEPTH` events."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        async with self.uow.begin(group_id) as tx:
            events = await tx.audit.recent(group_id, LOG_DEPTH)
        return page_of(events, command.page)
