"""`/muted`: the members the bot muted in a group, longest muted first."""

import attrs

from application.authorization import ensure_can_configure
from application.paging import ListCommand, Page, page_of
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.policy import GroupPolicy
from domain.restriction import Restriction


@attrs.frozen
class MutedList:
    """A page of the bot's mutes, and the policy that names their missing channels."""

    page: Page[Restriction]
    policy: GroupPolicy | None


@attrs.frozen
class ListMuted:
    """List who the bot muted (name, since when, missing channels). Admins only."""

    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, command: ListCommand) -> MutedList:
        """Read the group's restrictions in one transaction."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
            muted = await tx.restrictions.all(group_id)
        ordered = sorted(muted, key=lambda r: (r.since, r.user_id))
        return MutedList(page_of(ordered, command.page), policy)
