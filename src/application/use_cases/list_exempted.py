"""`/exempted`: the group's exemption list (rule 4)."""

import attrs

from application.authorization import ensure_can_configure
from application.paging import ListCommand, Page, page_of
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.ids import UserId


@attrs.frozen
class ListExempted:
    """List the members admins exempted. Admins only."""

    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, command: ListCommand) -> Page[UserId]:
        """Read the exemption list, in id order."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        async with self.uow.begin(group_id) as tx:
            exempt = await tx.exemptions.all(group_id)
        return page_of(sorted(exempt), command.page)
