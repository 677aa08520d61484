"""`/exempt`: never restrict a member in this group."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.targeting import Target, Targets
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, UserId
from domain.schedule import lift


@attrs.frozen
class ExemptCommand:
    """Exempt the member `target` points at in the group."""

    group_id: GroupId
    caller: Caller
    target: Target


@attrs.frozen
class ExemptResult:
    """Whether the member was newly exempted, and whether the bot's mute is being lifted."""

    added: bool
    lifting: bool
    user_id: UserId | None = None
    """The member exempted (what the admin's reply or @username resolved to)."""


@attrs.frozen
class ExemptMember:
    """Rule 4: the exemption list.

    - An exempt member is never restricted; one the bot already muted is unmuted in the
      background (rule 5: only the bot's own mute is lifted; an admin's stays).
    - A reply to the bot's warning exempts the member it warns; the bot itself, group admins
      and messages sent on behalf of a chat are refused (`TargetRefused`).
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    groups: GroupCache
    targets: Targets

    async def execute(self, command: ExemptCommand) -> ExemptResult:
        """Add to the list and schedule the lifting if needed."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        user_id = await self.targets.member(group_id, command.target, admins_too=False)
        async with self.uow.begin(group_id) as tx:
            added = await tx.exemptions.add(group_id, user_id)
            lifting = await tx.restrictions.get(group_id, user_id) is not None
            if lifting:
                await tx.actions.add(lift(group_id, user_id, self.clock.now()))
            if added:
                await tx.audit.record(
                    AuditEvent.by(
                        command.caller.user_id,
                        AuditKind.EXEMPTED,
                        group_id,
                        self.clock.now(),
                        subject=user_id,
                    )
                )
            await tx.commit()
        await self.groups.forget(group_id)
        return ExemptResult(added, lifting, user_id)
