"""React to someone joining or leaving a required channel (a chat_member update in a channel)."""

import logging

import attrs

from application.enforcement import Enforcement, Enforcer
from application.errors import MessengerError
from application.ports.caches import GroupSnapshot
from application.ports.messenger import WarningReason
from application.ports.unit_of_work import TenantDirectory
from domain.enforcement import decide
from domain.ids import ChannelId, GroupId
from domain.membership import Membership, is_subscribed
from domain.policy import GroupPolicy
from domain.senders import Person, Sender, exemption_of

log = logging.getLogger(__name__)


@attrs.frozen
class ChannelMemberUpdate:
    """`member` went from `old` to `new` in a channel."""

    channel_id: ChannelId
    member: Person
    old: Membership
    new: Membership


@attrs.frozen
class ChannelChangeResult:
    """The groups where the member was freed, and those where they were muted again."""

    lifted: tuple[GroupId, ...] = ()
    restricted: tuple[GroupId, ...] = ()


@attrs.frozen
class ChannelMemberChanged:
    """Rule 6: channel events drive state.

    - The cached membership is replaced by what the event says.
    - Joining lifts the bot's restriction in every linked group where that was the last
      missing channel, with no button press; where channels are still missing, the member's
      warning is replaced by one that lists only those.
    - Leaving re-restricts the member in every linked group where they are present and neither
      an admin nor exempt, with a warning.
    """

    enforcer: Enforcer
    directory: TenantDirectory

    async def execute(self, update: ChannelMemberUpdate) -> ChannelChangeResult:
        """Act in every group that requires the channel."""
        channel, user = update.channel_id, update.member.user_id
        await self.enforcer.memberships.store_membership(channel, user, update.new)
        joined, was_subscribed = is_subscribed(update.new), is_subscribed(update.old)
        if joined == was_subscribed:
            return ChannelChangeResult()
        lifted: list[GroupId] = []
        restricted: list[GroupId] = []
        for group_id in await self.directory.groups_requiring(channel):
            snapshot = await self.enforcer.snapshot(group_id)
            policy = snapshot.policy
            if policy is None or not policy.is_protected:  # disabled since the lookup
                continue
            if joined and await self._lift_if_complete(policy, update):
                lifted.append(group_id)
            elif not joined and await self._restrict_if_present(snapshot, policy, update):
                restricted.append(group_id)
        return ChannelChangeResult(tuple(lifted), tuple(restricted))

    async def _lift_if_complete(self, policy: GroupPolicy, update: ChannelMemberUpdate) -> bool:
        group_id, user = policy.group_id, update.member.user_id
        async with self.enforcer.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user)
        if restriction is None:
            return False
        verdict = await self.enforcer.verdict(policy, user, fresh=False)
        decision = decide(verdict, policy.settings.failure_policy)
        if decision.restrict:
            if decision.restrict_for != restriction.missing:
                await self.enforcer.rewarn(policy, update.member, decision.restrict_for)
            return False
        try:
            return await self.enforcer.release(group_id, user, reason="joined every channel")
        except MessengerError as error:
            log.warning("lift.failed group=%s user=%s error=%s", group_id, user, error)
            return False

    async def _restrict_if_present(
        self, snapshot: GroupSnapshot, policy: GroupPolicy, update: ChannelMemberUpdate
    ) -> bool:
        group_id, member = policy.group_id, update.member
        admins = await self.enforcer.admins(group_id)
        if admins is None:
            return False
        exemption = exemption_of(
            Sender(member.user_id, is_bot=member.is_bot),
            group_id=group_id,
            bot_id=self.enforcer.messenger.bot_id,
            admins=admins,
            exempt_users=snapshot.exempt,
            own_channels=policy.channel_ids,
        )
        if exemption is not None:
            return False
        try:
            standing = await self.enforcer.messenger.membership(group_id, member.user_id)
        except MessengerError as error:
            log.warning("group-membership.unknown group=%s error=%s", group_id, error)
            return False
        if not standing.is_present or standing.is_admin:
            return False
        verdict = await self.enforcer.verdict(policy, member.user_id, fresh=False)
        decision = decide(verdict, policy.settings.failure_policy)
        if not decision.restrict:
            return False
        outcome = await self.enforcer.punish(
            policy, member, decision.restrict_for, WarningReason.LEFT_CHANNEL
        )
        return outcome is Enforcement.RESTRICTED
