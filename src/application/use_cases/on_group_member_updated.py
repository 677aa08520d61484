"""React to a change of someone's standing in a group (a chat_member update in the group)."""

import enum

import attrs

from application.ports.caches import MembershipCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from application.use_cases.enforce_membership import (
    EnforceCommand,
    EnforceMembership,
    Enforcement,
)
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import GroupId, UserId
from domain.membership import Membership, MemberStatus
from domain.restriction import WarningReason, restricted_by
from domain.schedule import ActionKind
from domain.senders import Person, Sender

_LEFT_TO_DO = (ActionKind.KICK_UNVERIFIED, ActionKind.RESTRICT_MEMBER, ActionKind.SEND_WARNING)
"""What a restriction the bot forgets leaves pending for the member: none of it is due any more."""


@attrs.frozen
class GroupMemberUpdate:
    """`member` went from `old` to `new` in the group; `actor` made it happen."""

    group_id: GroupId
    member: Person
    old: Membership
    new: Membership
    actor: UserId


class MemberUpdateOutcome(enum.StrEnum):
    """What the update led to, besides enforcement on a join."""

    IGNORED = "ignored"
    ADMINS_CHANGED = "admins_changed"
    RELEASED_BY_ADMIN = "released_by_admin"
    RESTRICTED_BY_ADMIN = "restricted_by_admin"
    """Someone else (an admin) restricted the member: a restriction the bot held is theirs now."""
    JOINED = "joined"


@attrs.frozen
class MemberUpdateResult:
    """The outcome, and for a join what enforcement did."""

    outcome: MemberUpdateOutcome
    enforcement: Enforcement | None = None


@attrs.frozen
class OnGroupMemberUpdated:
    """Joins, promotions and manual lifts in a group.

    - A promotion or demotion invalidates the cached admin set.
    - A member who joins is checked at once (rule 3); the warning names the member who joined,
      never the admin who added them.
    - An admin who lifts the bot's restriction by hand overrides the bot: it forgets that
      restriction and its pending kick.
    - Rule 5, never take over an admin's mute: an admin who restricts a member the bot had
      muted (or whose mute the bot had deferred) takes the restriction over, and the bot
      forgets its own; a member who joins already restricted by someone else (an admin
      restricted them while they were outside) is not muted by the bot, and nothing is
      recorded as its own, so neither Verify, a channel join nor `/unprotect` lifts it.
    """

    enforce: EnforceMembership
    memberships: MembershipCache
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock

    async def execute(self, update: GroupMemberUpdate) -> MemberUpdateResult:
        """Act on one transition."""
        if update.old.is_admin != update.new.is_admin:
            await self.memberships.forget_admins(update.group_id)
            return MemberUpdateResult(MemberUpdateOutcome.ADMINS_CHANGED)
        if self._lifted_by_someone_else(update):
            forgotten = await self._forget_restriction(update, reasons.LIFTED_BY_ADMIN)
            if forgotten:
                return MemberUpdateResult(MemberUpdateOutcome.RELEASED_BY_ADMIN)
        member = update.member
        if restricted_by(
            update.new, update.actor, member=member.user_id, bot_id=self.messenger.bot_id
        ):
            await self._forget_restriction(update, reasons.TAKEN_OVER_BY_ADMIN)
            return MemberUpdateResult(MemberUpdateOutcome.RESTRICTED_BY_ADMIN)
        if update.old.is_present or not update.new.is_present:
            return MemberUpdateResult(MemberUpdateOutcome.IGNORED)
        enforcement = await self.enforce.execute(
            EnforceCommand(
                update.group_id,
                Sender(member.user_id, is_bot=member.is_bot),
                member.name,
                WarningReason.JOINED,
                standing=update.new,
                language_code=member.language_code,
            )
        )
        return MemberUpdateResult(MemberUpdateOutcome.JOINED, enforcement)

    def _lifted_by_someone_else(self, update: GroupMemberUpdate) -> bool:
        return (
            update.old.status is MemberStatus.RESTRICTED
            and update.new.status is MemberStatus.MEMBER
            and update.actor != self.messenger.bot_id
        )

    async def _forget_restriction(self, update: GroupMemberUpdate, reason: str) -> bool:
        """Forget the bot's restriction of the member, and what it left to do, if it holds one."""
        group_id, user_id = update.group_id, update.member.user_id
        async with self.uow.begin(group_id) as tx:
            if not await tx.restrictions.delete(group_id, user_id):
                return False
            for kind in _LEFT_TO_DO:
                await tx.actions.cancel(group_id, kind, user_id)
            await tx.audit.record(
                AuditEvent.unmuted(group_id, self.clock.now(), user_id, reason, actor=update.actor)
            )
            await tx.commit()
        return True
