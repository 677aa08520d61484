"""The bot's own restrictions: muting a member, re-warning, lifting, and remembering it all.

Transactions never wait on Telegram: each step reads in one short transaction, closes it, calls
Telegram, then writes the outcome in another short transaction. The restriction is remembered
before Telegram applies it, so a crash in between never leaves a member muted by the bot
without the bot knowing (rule 10). Moderation never waits on a message (rule 11): muting stores
a warning intent in the same transaction as the mute, and the paced sender (`SendWarnings`)
posts it when the group's send budget allows.
"""

import asyncio
import enum
import logging
import weakref
from datetime import timedelta

import attrs

from application.admin_notices import AdminNotices
from application.audit_trail import record
from application.errors import BotLacksRights, MessengerError, MessengerUnavailable, TargetIsAdmin
from application.ports.caches import MembershipCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.outbox import Outbox
from application.ports.throttle import Throttle
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.language import private_language, reader_language
from domain.membership import Membership
from domain.notices import NoticeKind
from domain.policy import GroupPolicy
from domain.restriction import Restriction, WarningReason, restricted_by_someone_else
from domain.schedule import (
    ActionKind,
    deletion,
    kick_of_unverified,
    member_notice,
    restriction_retry,
    retry_wait,
    warning_intent,
)
from domain.senders import Person

log = logging.getLogger(__name__)

MUTE_SETTLE = timedelta(seconds=10)
"""Messages a member sent before their mute took effect arrive within this time after it: they
are deleted without another mute or warning (a burst of messages gets one warning, not one
each)."""


class MuteOutcome(enum.StrEnum):
    """What asking to mute a member came to."""

    MUTED = "muted"
    """Muted now, or already muted moments ago (the message was only deleted)."""
    TARGET_IS_ADMIN = "target_is_admin"
    """Telegram refused: the member is an admin after all (the cached admin set is dropped)."""
    DEFERRED = "deferred"
    """Telegram could not take it now (a 429 past the wait budget, a 5xx): the restriction is
    remembered and applied by a due action after `retry_after` or a backoff (rule 11)."""
    FAILED = "failed"
    """Telegram refused; audited, and the admins told if the bot lacks rights."""
    SOMEONE_ELSES = "someone_elses"
    """The member is already restricted by someone else (an admin): the bot records nothing
    as its own and does not mute over it, so it never lifts that restriction (rule 5). Their
    message, if any, is still deleted."""


@attrs.frozen
class _Remembered:
    """What remembering a mute came to."""

    previous: Restriction | None
    """The restriction the new one replaced, if the bot held one."""
    settled: bool = True
    """No mute of the member began within `MUTE_SETTLE`, in this process or another."""
    someone_elses: bool = False
    """Nothing was stored: the member is restricted by someone else (rule 5)."""


@attrs.frozen
class Restrictions:
    """Mute and lift bookkeeping for the restrictions the bot applies (rules 3, 5 and 6)."""

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    memberships: MembershipCache
    throttle: Throttle
    notices: AdminNotices
    outbox: Outbox
    _member_locks: "weakref.WeakValueDictionary[tuple[GroupId, UserId], asyncio.Lock]" = (
        attrs.field(
            init=False,
            factory=weakref.WeakValueDictionary[tuple[GroupId, UserId], asyncio.Lock],
            repr=False,
        )
    )
    """One lock per member being muted, gone once nobody holds or awaits it."""

    async def mute(
        self,
        policy: GroupPolicy,
        member: Person,
        missing: tuple[ChannelId, ...],
        reason: WarningReason,
        *,
        message_id: MessageId | None = None,
        thread_id: int | None = None,
        standing: Membership | None = None,
        silent: bool = False,
    ) -> MuteOutcome:
        """Delete the message, mute the member, and remember it all with a warning intent (rule 3).

        `silent` (a join during a raid, rule 13): no warning; the raid notice speaks for them.

        The warning itself is sent by the paced sender (rule 11). A refused restriction is
        forgotten again; one Telegram cannot take now is deferred. One member is muted by one
        update at a time; a message that raced a mute of the last `MUTE_SETTLE` is only
        deleted.

        Rule 5: the member's standing in the group is asked of Telegram first (`standing`,
        when the caller already knows it, saves the call); one restricted by someone else,
        with no restriction of the bot's on record, is left to them
        (`MuteOutcome.SOMEONE_ELSES`).
        """
        key = (policy.group_id, member.user_id)
        async with self._member_locks.setdefault(key, asyncio.Lock()):
            return await self._mute(
                policy,
                member,
                missing,
                reason,
                message_id=message_id,
                thread_id=thread_id,
                standing=standing,
                silent=silent,
            )

    async def _mute(
        self,
        policy: GroupPolicy,
        member: Person,
        missing: tuple[ChannelId, ...],
        reason: WarningReason,
        *,
        message_id: MessageId | None,
        thread_id: int | None,
        standing: Membership | None,
        silent: bool,
    ) -> MuteOutcome:
        group_id, user_id = policy.group_id, member.user_id
        if message_id is not None:
            await self._delete_or_defer(group_id, message_id, user_id)
        if standing is None:
            standing = await self._standing(group_id, user_id)
        settled = await self.throttle.allow(f"muted:{group_id}:{user_id}", MUTE_SETTLE)
        wanted = Restriction(
            group_id,
            user_id,
            missing,
            self.clock.now(),
            None,
            member.name,
            reason,
            thread_id,
            language=reader_language(policy.settings.language, member.language_code),
            language_code=member.language_code,
        )
        remembered = await self._remember(
            policy, wanted, settled=settled, standing=standing, silent=silent
        )
        if remembered.someone_elses:
            if message_id is not None:
                deleted = AuditEvent.message_deleted(
                    group_id, self.clock.now(), user_id, reasons.RESTRICTED_BY_ADMIN
                )
                await record(self.uow, deleted)
            return MuteOutcome.SOMEONE_ELSES
        previous = remembered.previous
        if previous is not None and not remembered.settled:
            if message_id is not None:
                deleted = AuditEvent.message_deleted(
                    group_id, self.clock.now(), user_id, reasons.SENT_BEFORE_MUTE
                )
                await record(self.uow, deleted)
            return MuteOutcome.MUTED
        try:
            await self.messenger.restrict(group_id, user_id)
        except MessengerUnavailable as error:
            await self._defer(group_id, user_id, error)
            return MuteOutcome.DEFERRED
        except MessengerError as error:
            return await self._refused(group_id, user_id, error, forget=previous is None)
        self.outbox.wake(group_id)  # the warning goes once the mute holds
        await self._record_mute(group_id, user_id, missing, reason, deleted=message_id is not None)
        return MuteOutcome.MUTED

    async def delete_foreign_post(self, group_id: GroupId, message_id: MessageId) -> None:
        """Delete a message sent on behalf of another chat: there is nobody to mute (rule 3)."""
        await delete_quietly(self.messenger, group_id, message_id)
        deleted = AuditEvent.message_deleted(
            group_id, self.clock.now(), reason=reasons.SENT_FOR_ANOTHER_CHAT
        )
        await record(self.uow, deleted)

    async def note_missing(
        self, group_id: GroupId, user_id: UserId, missing: tuple[ChannelId, ...]
    ) -> None:
        """Note which channels a member the bot muted still misses.

        The restriction is read again, locked, in the same transaction and written only if
        the list changed, so a warning id written meanwhile by `mute` is kept.
        """
        async with self.uow.begin(group_id) as tx:
            current = await tx.restrictions.get_locked(group_id, user_id)
            if current is not None and current.missing != missing:
                await tx.restrictions.save(current.still_missing(missing))
                await tx.commit()

    async def rewarn(
        self, policy: GroupPolicy, member: Person, missing: tuple[ChannelId, ...]
    ) -> None:
        """Warn a muted member again, listing only what is still missing.

        The new warning replaces the old one once the paced sender has posted it. During a raid
        (rule 13) only the list is noted: the raid notice speaks for every muted member.
        """
        group_id, user_id = policy.group_id, member.user_id
        if policy.raid_on:
            await self.note_missing(group_id, user_id, missing)
            return
        async with self.uow.begin(group_id) as tx:
            current = await tx.restrictions.get_locked(group_id, user_id)
            if current is None:  # lifted meanwhile: nothing to warn about
                return
            again = current.still_missing(missing).rewarned(WarningReason.PARTLY_JOINED)
            await tx.restrictions.save(again)
            await tx.actions.cancel(group_id, ActionKind.SEND_WARNING, user_id)
            await tx.actions.add(warning_intent(group_id, user_id, self.clock.now()))
            await tx.commit()
        self.outbox.wake(group_id)

    async def lift(
        self,
        group_id: GroupId,
        user_id: UserId,
        *,
        reason: str,
        warning_id: MessageId | None = None,
        tell_member: bool = False,
    ) -> bool:
        """Lift the bot's own restriction of a member, if it holds one (rule 5).

        Deletes the member's warning: the one remembered with the restriction, or `warning_id`
        when the caller knows it (the message whose Verify button the member pressed).
        `tell_member`: also tell them in their private chat, when they have one (rule 12).
        Returns whether there was a restriction to lift. Raises `MessengerError` if Telegram
        refused; the restriction is then still remembered.
        """
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user_id)
        if restriction is None:
            return False
        await self.messenger.unrestrict(group_id, user_id)
        shown = {m for m in (restriction.warning_message_id, warning_id) if m is not None}
        async with self.uow.begin(group_id) as tx:
            await tx.restrictions.delete(group_id, user_id)
            for kind in (ActionKind.KICK_UNVERIFIED, ActionKind.SEND_WARNING):
                await tx.actions.cancel(group_id, kind, user_id)
            # A merged warning still naming other members stays (rule 5: never someone else's).
            doomed = [m for m in shown if not await tx.restrictions.warned_by(group_id, m)]
            if doomed:  # deleted below, so their scheduled deletion goes
                await tx.actions.cancel(group_id, ActionKind.DELETE_MESSAGE, user_id)
            await tx.audit.record(AuditEvent.unmuted(group_id, self.clock.now(), user_id, reason))
            if tell_member:
                own = private_language(restriction.language_code)
                freed = member_notice(
                    group_id, user_id, NoticeKind.MEMBER_FREED, self.clock.now(), own
                )
                await tx.actions.add(freed)
            await tx.commit()
        if tell_member:
            self.outbox.wake(group_id)
        for message_id in doomed:
            await delete_quietly(self.messenger, group_id, message_id)
        return True

    # --- bookkeeping --------------------------------------------------------------------------

    async def _standing(self, group_id: GroupId, user_id: UserId) -> Membership | None:
        """The member's standing in the group, fresh; `None` when Telegram cannot say."""
        try:
            return await self.messenger.membership(group_id, user_id)
        except MessengerError as error:
            log.warning(
                "group-membership.unknown group=%s user=%s error=%s", group_id, user_id, error
            )
            return None

    async def _remember(
        self,
        policy: GroupPolicy,
        wanted: Restriction,
        *,
        settled: bool,
        standing: Membership | None,
        silent: bool = False,
    ) -> "_Remembered":
        """Store the restriction about to be applied, with the one it replaces, if any.

        With it go its warning intent and, for a first mute, the kick. Everything the mute leaves
        to do later is committed before Telegram is asked, in one transaction, so running the
        update again after a failure anywhere later repeats nothing and loses nothing. A
        restriction already held keeps its start and its warning; one muted moments ago (not
        `settled`) gets no second warning.

        Rule 5: a member Telegram reports restricted (`standing`) while the bot holds no
        restriction of theirs is someone else's: nothing is stored. When Telegram could not
        say (`None`), the mute goes ahead (rule 3).

        Issue 15: `settled` (this process's throttle, the fast path) is confirmed with the
        database's burst guard, shared by every worker, before anything is read: a burst
        spread over several workers gets one mute and one warning.
        """
        group_id, user_id, now = wanted.group_id, wanted.user_id, self.clock.now()
        async with self.uow.begin(group_id) as tx:
            if settled:
                settled = await tx.restrictions.claim_mute(group_id, user_id, now, MUTE_SETTLE)
            previous = await tx.restrictions.get_locked(group_id, user_id)
            if standing is not None and restricted_by_someone_else(standing, previous):
                return _Remembered(None, someone_elses=True)
            if previous is not None:
                wanted = attrs.evolve(
                    wanted, since=previous.since, warning_message_id=previous.warning_message_id
                )
            await tx.restrictions.save(wanted)
            if (previous is None or settled) and not silent:
                await tx.actions.cancel(group_id, ActionKind.SEND_WARNING, user_id)
                await tx.actions.add(warning_intent(group_id, user_id, now))
            kick = kick_of_unverified(policy, user_id, now) if previous is None else None
            if kick is not None:
                await tx.actions.add(kick)
            await tx.commit()
        return _Remembered(previous, settled)

    async def apply_deferred(self, group_id: GroupId, user_id: UserId) -> MuteOutcome | None:
        """Apply a mute that was deferred, if the bot still holds it; `None` if it does not.

        Raises `MessengerUnavailable` when Telegram still cannot take it (the caller defers it
        again, and says so: `RunDueActions`' `action.deferred`).
        """
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user_id)
        if restriction is None:
            return None
        try:
            await self.messenger.restrict(group_id, user_id)
        except MessengerUnavailable:
            raise
        except MessengerError as error:
            return await self._refused(group_id, user_id, error, forget=True)
        now = self.clock.now()
        async with self.uow.begin(group_id) as tx:
            await tx.actions.cancel(group_id, ActionKind.SEND_WARNING, user_id)
            policy = await tx.groups.get(group_id)
            if policy is None or not policy.raid_on:  # a raid's notice speaks for them
                await tx.actions.add(warning_intent(group_id, user_id, now))
            muted = AuditEvent.muted(
                group_id, now, user_id, restriction.missing, reasons.MUTE_DEFERRED
            )
            await tx.audit.record(muted)
            await tx.commit()
        self.outbox.wake(group_id)
        return MuteOutcome.MUTED

    async def _defer(
        self, group_id: GroupId, user_id: UserId, error: MessengerUnavailable
    ) -> None:
        """Keep the restriction; apply it later; no warning until it holds (rule 11)."""
        wait = retry_wait(0, error.retry_after)
        now = self.clock.now()
        async with self.uow.begin(group_id) as tx:
            await tx.actions.cancel(group_id, ActionKind.SEND_WARNING, user_id)
            await tx.actions.add(restriction_retry(group_id, user_id, now + wait))
            reason = reasons.RESTRICT_DEFERRED.format(
                seconds=f"{wait.total_seconds():g}", error=error
            )
            await tx.audit.record(AuditEvent.action_failed(group_id, now, user_id, reason))
            await tx.commit()
        log.warning(
            "mute.deferred group=%s user=%s wait=%s error=%s", group_id, user_id, wait, error
        )

    async def _refused(
        self, group_id: GroupId, user_id: UserId, error: MessengerError, *, forget: bool
    ) -> MuteOutcome:
        """Telegram refused the mute: undo it, and say why.

        The member is an admin after all, or the refusal is audited (and the admins told when
        the bot lacks rights).
        """
        await self._undo(group_id, user_id, forget=forget)
        if isinstance(error, TargetIsAdmin):
            await self.memberships.forget_admins(group_id)
            return MuteOutcome.TARGET_IS_ADMIN
        await self._restrict_failed(group_id, user_id, error)
        return MuteOutcome.FAILED

    async def _undo(self, group_id: GroupId, user_id: UserId, *, forget: bool) -> None:
        """Telegram refused the mute: no warning, and a first mute is forgotten with its kick."""
        async with self.uow.begin(group_id) as tx:
            await tx.actions.cancel(group_id, ActionKind.SEND_WARNING, user_id)
            if forget:
                await tx.restrictions.delete(group_id, user_id)
                await tx.actions.cancel(group_id, ActionKind.KICK_UNVERIFIED, user_id)
            await tx.commit()

    async def _record_mute(
        self,
        group_id: GroupId,
        user_id: UserId,
        missing: tuple[ChannelId, ...],
        reason: WarningReason,
        *,
        deleted: bool,
    ) -> None:
        """Audit the mute Telegram applied."""
        now = self.clock.now()
        async with self.uow.begin(group_id) as tx:
            if deleted:
                await tx.audit.record(AuditEvent.message_deleted(group_id, now, user_id))
            await tx.audit.record(
                AuditEvent.muted(group_id, now, user_id, missing, reasons.MUTED_FOR[reason])
            )
            await tx.commit()

    async def _restrict_failed(
        self, group_id: GroupId, user_id: UserId, error: MessengerError
    ) -> None:
        failed = AuditEvent.action_failed(
            group_id, self.clock.now(), user_id, reasons.RESTRICT_REFUSED.format(error=error)
        )
        if isinstance(error, BotLacksRights):  # the admins are told, with the failure
            await self.notices.cannot_restrict(group_id, failed)
        else:
            await record(self.uow, failed)

    async def _delete_or_defer(
        self, group_id: GroupId, message_id: MessageId, user_id: UserId
    ) -> None:
        """Delete a member's message; if Telegram cannot now, schedule it (rule 11)."""
        try:
            await self.messenger.delete_message(group_id, message_id)
        except MessengerUnavailable as error:
            wait = retry_wait(0, error.retry_after)
            async with self.uow.begin(group_id) as tx:
                await tx.actions.add(deletion(group_id, message_id, self.clock.now() + wait))
                await tx.commit()
            log.warning("delete.deferred chat=%s message=%s wait=%s", group_id, message_id, wait)
        except MessengerError as error:
            log.warning("delete.failed chat=%s message=%s error=%s", group_id, message_id, error)


async def delete_quietly(messenger: Messenger, chat_id: GroupId, message_id: MessageId) -> None:
    """Delete a message; a failure is logged, never raised (nothing waits on the deletion)."""
    try:
        await messenger.delete_message(chat_id, message_id)
    except MessengerError as error:
        log.warning("delete.failed chat=%s message=%s error=%s", chat_id, message_id, error)
