"""Rule 3: enforce the required channels on a member who spoke or joined in a group."""

import enum

import attrs

from application.admin_notices import AdminNotices
from application.lookups import Lookups
from application.ports.messenger import Messenger
from application.raids import Raids
from application.restrictions import MuteOutcome, Restrictions
from domain.ids import GroupId, MessageId
from domain.membership import Membership
from domain.restriction import WarningReason
from domain.senders import Person, Sender, is_foreign_chat_post


class Enforcement(enum.StrEnum):
    """What enforcing the rules on one member came to."""

    NOT_PROTECTED = "not_protected"
    EXEMPT = "exempt"
    ALLOWED = "allowed"
    ALLOWED_UNVERIFIED = "allowed_unverified"
    """Telegram could not answer and the `open` policy let the member through."""
    FOREIGN_POST_DELETED = "foreign_post_deleted"
    """A message sent on behalf of another chat was removed; there is nobody to mute."""
    RESTRICTED = "restricted"
    RESTRICT_DEFERRED = "restrict_deferred"
    """Telegram could not mute now: the message is gone and the mute is applied later."""
    RESTRICT_FAILED = "restrict_failed"
    RESTRICTED_BY_SOMEONE_ELSE = "restricted_by_someone_else"
    """An admin restricted the member: the bot leaves that restriction to them (rule 5); a
    message is still deleted."""


@attrs.frozen
class EnforceCommand:
    """`sender` wrote message `message_id` in a group, or joined it (no message)."""

    group_id: GroupId
    sender: Sender
    sender_name: str
    reason: WarningReason = WarningReason.SPOKE
    message_id: MessageId | None = None
    thread_id: int | None = None
    """The forum topic the message was written in, where the warning goes too."""
    standing: Membership | None = None
    """The member's standing in the group when the update tells it (a join); otherwise it is
    asked of Telegram before a first mute (rule 5)."""
    language_code: str | None = None
    """The sender's Telegram language: their warning's, in an `auto` group (rule 15)."""

    @property
    def member(self) -> Person:
        """The member as a warning names them."""
        return Person(
            self.sender.user_id, self.sender_name, self.sender.is_bot, self.language_code
        )


@attrs.frozen
class EnforceMembership:
    """Rules 3, 4 and 8 for one member who spoke (a new or edited message) or joined.

    - Unprotected groups, exempt senders (rule 4) and subscribed members pass untouched; in
      steady state this costs no Telegram call and no database round trip (DESIGN §5).
    - Without the group's admin list nobody is muted: an admin could be (the message passes).
    - A member missing a channel has the message deleted, is muted and warned with every
      missing channel and a Verify button; the warning is deleted after `warning_ttl`.
    - Messages sent on behalf of another chat are deleted: there is no person to mute.
    - When Telegram cannot answer, the group's failure policy decides, and the admins hear
      about the failing channel once (rule 8).
    - A member someone else (an admin) already restricted is not muted over it, and nothing
      is recorded as the bot's, so the bot never lifts it (rule 5).
    - Rule 13: the joins of members who must be muted are counted (in process memory); at
      the group's `raid_threshold` a minute a raid starts, and while it lasts joiners (and
      anyone else who must be muted) are muted silently, under the raid's one notice.
    """

    lookups: Lookups
    restrictions: Restrictions
    notices: AdminNotices
    messenger: Messenger
    raids: Raids

    async def execute(self, command: EnforceCommand) -> Enforcement:
        """Judge the member and act."""
        group_id, sender = command.group_id, command.sender
        snapshot = await self.lookups.snapshot(group_id)
        policy = snapshot.protected_policy
        if policy is None:
            return Enforcement.NOT_PROTECTED
        admins = await self.lookups.admins(group_id)
        if admins is None:  # without the admin list, an admin could be muted: let it pass
            return Enforcement.ALLOWED_UNVERIFIED
        if snapshot.exemption(sender, bot_id=self.messenger.bot_id, admins=admins) is not None:
            return Enforcement.EXEMPT
        if is_foreign_chat_post(sender):
            if command.message_id is not None:
                await self.restrictions.delete_foreign_post(group_id, command.message_id)
            return Enforcement.FOREIGN_POST_DELETED
        decision = await self.lookups.decision(policy, sender.user_id, fresh=False)
        await self.notices.report_unanswered(policy, decision.unanswered)
        if not decision.restrict:
            return Enforcement.ALLOWED_UNVERIFIED if decision.unanswered else Enforcement.ALLOWED
        silent = policy.raid_on  # rule 13: the raid's notice speaks for everyone it mutes
        if command.reason is WarningReason.JOINED:
            silent = await self.raids.joined(policy)
        outcome = await self.restrictions.mute(
            policy,
            command.member,
            decision.restrict_for,
            command.reason,
            message_id=command.message_id,
            thread_id=command.thread_id,
            standing=command.standing,
            silent=silent,
        )
        return _ENFORCEMENT_OF[outcome]


_ENFORCEMENT_OF = {
    MuteOutcome.MUTED: Enforcement.RESTRICTED,
    MuteOutcome.TARGET_IS_ADMIN: Enforcement.EXEMPT,
    MuteOutcome.DEFERRED: Enforcement.RESTRICT_DEFERRED,
    MuteOutcome.FAILED: Enforcement.RESTRICT_FAILED,
    MuteOutcome.SOMEONE_ELSES: Enforcement.RESTRICTED_BY_SOMEONE_ELSE,
}
