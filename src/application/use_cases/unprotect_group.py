"""`/unprotect`: stop enforcing now and lift every restriction the bot applied."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId
from domain.schedule import lift


@attrs.frozen
class UnprotectCommand:
    """Disable protection of a group."""

    group_id: GroupId
    caller: Caller


@attrs.frozen
class UnprotectResult:
    """Whether protection was on, and how many members will be unmuted in the background."""

    was_enabled: bool
    lifting: int


@attrs.frozen
class UnprotectGroup:
    """Rule 7: disabling protection.

    - Enforcement stops at once (the cached policy is dropped with the commit).
    - Every restriction the bot applied is lifted in the background through scheduled actions,
      which survive restarts and run within Telegram's rate limits.
    - Channels stay linked, so `/protect` enables protection again.
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    groups: GroupCache

    async def execute(self, command: UnprotectCommand) -> UnprotectResult:
        """Disable and schedule the lifting."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
            was_enabled = policy is not None and policy.enabled
            if policy is not None and policy.enabled:
                await tx.groups.save(policy.disabled())
            restrictions = await tx.restrictions.all(group_id)
            now = self.clock.now()
            for restriction in restrictions:
                await tx.actions.add(lift(group_id, restriction.user_id, now))
            await tx.audit.record(
                AuditEvent.by(
                    command.caller.user_id,
                    AuditKind.UNPROTECTED,
                    group_id,
                    now,
                    reason=reasons.LIFTING.format(count=len(restrictions)),
                )
            )
            await tx.commit()
        await self.groups.forget(group_id)
        return UnprotectResult(was_enabled, len(restrictions))
