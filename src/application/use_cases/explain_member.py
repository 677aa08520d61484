"""`/why`: explain one member's state in a group."""

import logging

import attrs

from application.authorization import Caller, ensure_can_configure
from application.errors import MessengerError, UserNotFound
from application.lookups import Lookups
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.targeting import Target, Targets
from domain.ids import GroupId
from domain.membership import Membership
from domain.policy import RequiredChannel
from domain.restriction import Restriction, restricted_by_someone_else
from domain.senders import Exemption, Sender

log = logging.getLogger(__name__)


@attrs.frozen
class ExplainCommand:
    """Explain the state of the member `target` points at."""

    group_id: GroupId
    caller: Caller
    target: Target


@attrs.frozen
class Explanation:
    """Everything that decides the member's fate, checked fresh."""

    protected: bool
    exemption: Exemption | None = None
    restriction: Restriction | None = None
    """Set when the bot muted the member (a mute by anyone else is not the bot's)."""
    missing: tuple[RequiredChannel, ...] = ()
    unanswered: tuple[RequiredChannel, ...] = ()
    standing: Membership | None = None
    """The member's standing in the group, fresh from Telegram; `None` if it would not say."""
    unknown_user: bool = False
    """Telegram knows no user with this id: nothing else was checked."""

    @property
    def restricted_by_someone_else(self) -> bool:
        """Restricted in the group, but not by the bot: an admin's, theirs to lift (rule 5)."""
        return self.standing is not None and restricted_by_someone_else(
            self.standing, self.restriction
        )


@attrs.frozen
class ExplainMember:
    """Why is this member muted (or not)? Admins only; channels are checked fresh.

    - The member's standing in the group is asked of Telegram, so a member who is not muted
      at all is told apart from one an admin muted (rule 5: not the bot's).
    - An id Telegram knows no user for is reported as such; no channel is checked for it.
    - A reply to the bot's warning explains the member it warns; the bot itself and messages
      sent on behalf of a chat are refused (`TargetRefused`).
    """

    lookups: Lookups
    uow: UnitOfWork
    messenger: Messenger
    targets: Targets

    async def execute(self, command: ExplainCommand) -> Explanation:
        """Gather the facts; change nothing."""
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        user_id = await self.targets.member(group_id, command.target, admins_too=True)
        snapshot = await self.lookups.snapshot(group_id)
        policy = snapshot.protected_policy
        try:
            standing = await self.messenger.membership(group_id, user_id)
        except UserNotFound:
            return Explanation(protected=policy is not None, unknown_user=True)
        except MessengerError as error:
            log.warning("group-membership.unknown group=%s error=%s", group_id, error)
            standing = None
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user_id)
        if policy is None:
            return Explanation(protected=False, restriction=restriction, standing=standing)
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
            standing=standing,
        )
