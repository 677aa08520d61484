"""React to someone joining or leaving a required channel (a chat_member update in a channel)."""

import logging

import attrs

from application.errors import MessengerError
from application.join_gate import Approval, JoinGate
from application.lookups import Lookups
from application.ports.caches import GroupSnapshot, MembershipCache
from application.ports.messenger import Messenger
from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from application.restrictions import MuteOutcome, Restrictions
from domain import reasons
from domain.ids import ChannelId, GroupId
from domain.membership import Membership, is_subscribed
from domain.policy import GroupPolicy
from domain.restriction import WarningReason
from domain.senders import Person, Sender

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
    """The groups where the member was freed, muted again, or let in by the join gate."""

    lifted: tuple[GroupId, ...] = ()
    restricted: tuple[GroupId, ...] = ()
    approved: tuple[GroupId, ...] = ()


@attrs.frozen
class ChannelMemberChanged:
    """Rule 6: channel events drive state.

    - The cached membership is replaced by what the event says.
    - Joining lifts the bot's restriction in every linked group where that was the last
      missing channel, with no button press; where channels are still missing, the member's
      warning is replaced by one that lists only those. Only the groups where the bot holds
      the member are visited (`TenantDirectory.groups_to_free`).
    - Rule 12: a member freed so is told in their private chat with the bot, if they ever
      started it (a durable notice, paced; Telegram refuses the others).
    - Leaving re-restricts the member in every linked group where they are present and neither
      an admin nor exempt, with a warning; never one someone else (an admin) has restricted,
      whose restriction stays theirs (rule 5).
    - Rule 14: joining the last missing channel approves a join request the gate holds.
    """

    lookups: Lookups
    restrictions: Restrictions
    memberships: MembershipCache
    messenger: Messenger
    uow: UnitOfWork
    directory: TenantDirectory
    gate: JoinGate

    async def execute(self, update: ChannelMemberUpdate) -> ChannelChangeResult:
        """Act in every group that requires the channel."""
        channel, user = update.channel_id, update.member.user_id
        await self.memberships.announce_membership(channel, user, update.new)
        joined, was_subscribed = is_subscribed(update.new), is_subscribed(update.old)
        if joined == was_subscribed:
            return ChannelChangeResult()
        lifted: list[GroupId] = []
        restricted: list[GroupId] = []
        approved: list[GroupId] = []
        # Joining can only free a member where the bot holds them (a restriction, a request):
        # the other groups requiring the channel are not visited (issue 15: one query, not a
        # transaction or two in each of a thousand groups).
        groups = (
            await self.directory.groups_to_free(channel, user)
            if joined
            else await self.directory.groups_requiring(channel)
        )
        for group_id in groups:
            snapshot = await self.lookups.snapshot(group_id)
            policy = snapshot.protected_policy
            if policy is None:  # disabled since the lookup
                continue
            if joined and await self._lift_if_complete(policy, update):
                lifted.append(group_id)
            elif not joined and await self._restrict_if_present(snapshot, policy, update):
                restricted.append(group_id)
            if joined and await self.gate.admit_if_complete(policy, user) is Approval.APPROVED:
                approved.append(group_id)
        return ChannelChangeResult(tuple(lifted), tuple(restricted), tuple(approved))

    async def _lift_if_complete(self, policy: GroupPolicy, update: ChannelMemberUpdate) -> bool:
        group_id, user = policy.group_id, update.member.user_id
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user)
        if restriction is None:
            return False
        decision = await self.lookups.decision(policy, user, fresh=False)
        if decision.restrict:
            if decision.restrict_for != restriction.missing:
                await self.restrictions.rewarn(policy, update.member, decision.restrict_for)
            return False
        try:
            return await self.restrictions.lift(
                group_id, user, reason=reasons.JOINED_EVERY_CHANNEL, tell_member=True
            )
        except MessengerError as error:
            log.warning("lift.failed group=%s user=%s error=%s", group_id, user, error)
            return False

    async def _restrict_if_present(
        self, snapshot: GroupSnapshot, policy: GroupPolicy, update: ChannelMemberUpdate
    ) -> bool:
        group_id, member = policy.group_id, update.member
        admins = await self.lookups.admins(group_id)
        if admins is None:
            return False
        sender = Sender(member.user_id, is_bot=member.is_bot)
        if snapshot.exemption(sender, bot_id=self.messenger.bot_id, admins=admins) is not None:
            return False
        try:
            standing = await self.messenger.membership(group_id, member.user_id)
        except MessengerError as error:
            log.warning("group-membership.unknown group=%s error=%s", group_id, error)
            return False
        if not standing.is_present or standing.is_admin:
            return False
        decision = await self.lookups.decision(policy, member.user_id, fresh=False)
        if not decision.restrict:
            return False
        outcome = await self.restrictions.mute(
            policy, member, decision.restrict_for, WarningReason.LEFT_CHANNEL, standing=standing
        )
        return outcome is MuteOutcome.MUTED
