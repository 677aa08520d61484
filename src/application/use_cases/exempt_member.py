"""`/exempt`: never restrict a member in this group."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.enforcement import Enforcer
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, UserId
from domain.schedule import ActionKind


@attrs.frozen
class ExemptCommand:
    """Exempt `user_id` in the group."""

    group_id: GroupId
    caller: Caller
    user_id: UserId


@attrs.frozen
class ExemptResult:
    """Whether the member was newly exempted, and whether the bot's mute is being lifted."""

    added: bool
    lifting: bool


@attrs.frozen
class ExemptMember:
    """Rule 4: the exemption list.

    - An exempt member is never restricted; one the bot already muted is unmuted in the
      background.
    """

    enforcer: Enforcer

    async def execute(self, command: ExemptCommand) -> ExemptResult:
        """Add to the list and schedule the lifting if needed."""
        group_id, user_id = command.group_id, command.user_id
        await ensure_can_configure(self.enforcer.messenger, group_id, command.caller)
        async with self.enforcer.uow.begin(group_id) as tx:
            added = await tx.exemptions.add(group_id, user_id)
            lifting = await tx.restrictions.get(group_id, user_id) is not None
            if lifting:
                await tx.actions.add(
                    self.enforcer.action(group_id, ActionKind.LIFT_RESTRICTION, user_id=user_id)
                )
            if added:
                await tx.audit.record(
                    AuditEvent(
                        group_id,
                        AuditKind.EXEMPTED,
                        self.enforcer.clock.now(),
                        actor=command.caller.user_id,
                        subject=user_id,
                    )
                )
            await tx.commit()
        await self.enforcer.groups.forget(group_id)
        return ExemptResult(added, lifting)
