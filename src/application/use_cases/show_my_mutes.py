"""Rule 12: a muted member can always learn why and what to do, from the private chat."""

from datetime import datetime

import attrs

from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from domain.ids import UserId
from domain.policy import GroupPolicy, RequiredChannel


@attrs.frozen
class MutedHere:
    """One group where the bot muted the member: what they still have to join."""

    policy: GroupPolicy
    missing: tuple[RequiredChannel, ...]
    since: datetime


@attrs.frozen
class ShowMyMutes:
    """List every protected group where the bot muted the member, with the channels missing.

    - Only the bot's own mutes: a mute by an admin is not the bot's to explain or lift.
    - The groups come from the directory (ids only), then each is read in its own tenant's
      scope; what is shown is the member's own, so nobody learns about anyone else.
    """

    directory: TenantDirectory
    uow: UnitOfWork

    async def execute(self, user_id: UserId) -> tuple[MutedHere, ...]:
        """The member's mutes, oldest first."""
        found: list[MutedHere] = []
        for group_id in await self.directory.groups_muting(user_id):
            async with self.uow.begin(group_id) as tx:
                policy = await tx.groups.get(group_id)
                restriction = await tx.restrictions.get(group_id, user_id)
            if policy is None or not policy.is_protected or restriction is None:
                continue
            found.append(
                MutedHere(policy, policy.channels_of(restriction.missing), restriction.since)
            )
        return tuple(sorted(found, key=lambda muted: muted.since))
