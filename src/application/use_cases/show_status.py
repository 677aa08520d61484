"""`/status`: how a group is protected right now."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.ids import GroupId
from domain.policy import GroupPolicy


@attrs.frozen
class StatusCommand:
    """Show the status of a group."""

    group_id: GroupId
    caller: Caller


@attrs.frozen
class StatusReport:
    """The policy (if the group was ever set up) and what the bot currently holds."""

    policy: GroupPolicy | None
    restricted: int
    exempt: int
    pending_actions: int

    @property
    def is_protected(self) -> bool:
        """Rule 1."""
        return self.policy is not None and self.policy.is_protected


@attrs.frozen
class ShowStatus:
    """Report protection, linked channels, muted and exempt counts. Admins only."""

    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, command: StatusCommand) -> StatusReport:
        """Read everything in one transaction."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        async with self.uow.begin(group_id) as tx:
            return StatusReport(
                policy=await tx.groups.get(group_id),
                restricted=len(await tx.restrictions.all(group_id)),
                exempt=len(await tx.exemptions.all(group_id)),
                pending_actions=len(await tx.actions.pending(group_id)),
            )
