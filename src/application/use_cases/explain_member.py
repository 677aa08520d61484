"""`/why`: explain one member's state in a group."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.lookups import Lookups
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.ids import GroupId, UserId
from domain.policy import RequiredChannel
from domain.restriction import Restriction
from domain.senders import Exemption, Sender


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

    lookups: Lookups
    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, command: ExplainCommand) -> Explanation:
        """Gather the facts; change nothing."""
        group_id, user_id = command.group_id, command.user_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        snapshot = await self.lookups.snapshot(group_id)
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user_id)
        policy = snapshot.protected_policy
        if policy is None:
            return Explanation(protected=False, restriction=restriction)
        exemption = snapshot.exemption(
            Sender(user_id),
            bot_id=self.messenger.bot_id,
            admins=await self.lookups.admins(group_id) or frozenset(),
        )
        decision = await self.lookups.decision(policy, user_id, fresh=True)
        return Explanation(
            protected=True,
            exemption=exemption,
            restriction=restriction,
            missing=policy.channels_of(decision.restrict_for),
            unanswered=policy.channels_of(decision.unanswered),
        )
