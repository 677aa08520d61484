"""`/why`: explain one member's state in a group."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.enforcement import Enforcer, channels_of
from domain.enforcement import decide
from domain.ids import GroupId, UserId
from domain.policy import RequiredChannel
from domain.restriction import Restriction
from domain.senders import Exemption, Sender, exemption_of


@attrs.frozen
class ExplainCommand:
    """Explain the state of `user_id`."""

    group_id: GroupId
    caller: Caller
    user_id: UserId


@attrs.frozen
class Explanation:
    """Everything that decides the member's fate, checked fresh."""

    protected: bool
    exemption: Exemption | None = None
    restriction: Restriction | None = None
    """Set when the bot muted the member (a mute by anyone else is not the bot's)."""
    missing: tuple[RequiredChannel, ...] = ()
    unanswered: tuple[RequiredChannel, ...] = ()


@attrs.frozen
class ExplainMember:
    """Why is this member muted (or not)? Admins only; channels are checked fresh."""

    enforcer: Enforcer

    async def execute(self, command: ExplainCommand) -> Explanation:
        """Gather the facts; change nothing."""
        group_id, user_id = command.group_id, command.user_id
        await ensure_can_configure(self.enforcer.messenger, group_id, command.caller)
        snapshot = await self.enforcer.snapshot(group_id)
        async with self.enforcer.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user_id)
        policy = snapshot.policy
        if policy is None or not policy.is_protected:
            return Explanation(protected=False, restriction=restriction)
        exemption = exemption_of(
            Sender(user_id),
            group_id=group_id,
            bot_id=self.enforcer.messenger.bot_id,
            admins=await self.enforcer.admins(group_id) or frozenset(),
            exempt_users=snapshot.exempt,
            own_channels=policy.channel_ids,
        )
        verdict = await self.enforcer.verdict(policy, user_id, fresh=True)
        decision = decide(verdict, policy.settings.failure_policy)
        return Explanation(
            protected=True,
            exemption=exemption,
            restriction=restriction,
            missing=channels_of(policy, decision.restrict_for),
            unanswered=channels_of(policy, decision.unanswered),
        )
