"""`/unexempt`: enforce the rules on a member again."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.targeting import Target, Targets
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId


@attrs.frozen
class UnexemptCommand:
    """Remove the member `target` points at from the group's exemption list."""

    group_id: GroupId
    caller: Caller
    target: Target


@attrs.frozen
class UnexemptMember:
    """Take a member off the exemption list; they are checked from their next message.

    A reply to the bot's warning means the member it warns; the bot itself and messages sent
    on behalf of a chat are refused (`TargetRefused`). An admin may be taken off the list.
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    groups: GroupCache
    targets: Targets

    async def execute(self, command: UnexemptCommand) -> bool:
        """Return whether the member was exempt."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        user_id = await self.targets.member(group_id, command.target, admins_too=True)
        async with self.uow.begin(group_id) as tx:
            removed = await tx.exemptions.remove(group_id, user_id)
            if removed:
                await tx.audit.record(
                    AuditEvent.by(
                        command.caller.user_id,
                        AuditKind.UNEXEMPTED,
                        group_id,
                        self.clock.now(),
                        subject=user_id,
                    )
                )
            await tx.commit()
        await self.groups.forget(group_id)
        return removed
