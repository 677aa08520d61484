"""`/unlink @channel`: stop requiring one channel."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent, AuditKind
from domain.errors import ChannelNotLinked
from domain.ids import ChannelId, GroupId
from domain.policy import ChannelRef, GroupPolicy, parse_channel_ref
from domain.schedule import lift


@attrs.frozen
class UnlinkCommand:
    """Remove the channel named by `reference` from the group's required channels."""

    group_id: GroupId
    caller: Caller
    reference: str


@attrs.frozen
class UnlinkResult:
    """The policy after unlinking, and how many members will be unmuted because of it."""

    policy: GroupPolicy
    lifting: int


@attrs.frozen
class UnlinkChannel:
    """Unlink one channel.

    - The channel is found among the linked ones by id or username; no Telegram call.
    - Members the bot muted only for that channel are unmuted in the background; the others
      stay muted for the channels they still miss. Unlinking the last channel leaves the group
      unprotected (rule 1), so everyone the bot muted is unmuted.
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    groups: GroupCache

    async def execute(self, command: UnlinkCommand) -> UnlinkResult:
        """Unlink and schedule the lifting.

        Raises:
            ChannelNotLinked: the channel is not required by the group.
        """
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        ref = parse_channel_ref(command.reference)
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
            if policy is None:
                raise ChannelNotLinked(str(ref))
            channel_id = _linked_id(policy, ref)
            updated = policy.unlinked(channel_id)
            await tx.groups.save(updated)
            lifting = 0
            for restriction in await tx.restrictions.all_locked(group_id):
                remaining = tuple(c for c in restriction.missing if c != channel_id)
                if remaining and updated.is_protected:
                    await tx.restrictions.save(restriction.still_missing(remaining))
                    continue
                lifting += 1
                await tx.actions.add(lift(group_id, restriction.user_id, self.clock.now()))
            await tx.audit.record(
                AuditEvent.by(
                    command.caller.user_id,
                    AuditKind.CHANNEL_UNLINKED,
                    group_id,
                    self.clock.now(),
                    channel_id=channel_id,
                )
            )
            await tx.commit()
        await self.groups.forget(group_id)
        return UnlinkResult(updated, lifting)


def _linked_id(policy: GroupPolicy, ref: ChannelRef) -> ChannelId:
    for channel in policy.channels:
        if channel.channel_id == ref.channel_id or (
            ref.username is not None and (channel.username or "").lower() == ref.username.lower()
        ):
            return channel.channel_id
    raise ChannelNotLinked(str(ref))
