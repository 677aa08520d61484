"""The bot's own restrictions: muting a member, re-warning, lifting, and remembering it all.

Transactions never wait on Telegram: each step reads in one short transaction, closes it, calls
Telegram, then writes the outcome in another short transaction. The restriction is remembered
before Telegram applies it, so a crash in between never leaves a member muted by the bot
without the bot knowing (rule 10).
"""

import asyncio
import enum
import logging
import weakref
from datetime import timedelta

import attrs

from application.admin_notices import AdminNotices
from application.audit_trail import record
from application.errors import BotLacksRights, MessengerError, TargetIsAdmin
from application.ports.caches import MembershipCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger, MuteWarning, WarningReason
from application.ports.throttle import Throttle
from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.policy import GroupPolicy
from domain.restriction import Restriction
from domain.schedule import ActionKind, kick_of_unverified, warning_expiry
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
    FAILED = "failed"
    """Telegram refused or failed; audited, and the admins told if the bot lacks rights."""


@attrs.frozen
class Restrictions:
    """Mute and lift bookkeeping for the restrictions the bot applies (rules 3, 5 and 6)."""

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    memberships: MembershipCache
    throttle: Throttle
    notices: AdminNotices
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
    ) -> MuteOutcome:
        """Delete the message, mute the member, warn them, and remember it all (rule 3).

        A refused restriction is forgotten again. One member is muted by one update at a time;
        a message that raced a mute of the last `MUTE_SETTLE` is only deleted.
        """
        key = (policy.group_id, member.user_id)
        async with self._member_locks.setdefault(key, asyncio.Lock()):
            return await self._mute(
                policy, member, missing, reason, message_id=message_id, thread_id=thread_id
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
    ) -> MuteOutcome:
        group_id, user_id = policy.group_id, member.user_id
        if message_id is not None:
            await self._delete_quietly(group_id, message_id)
        settled = await self.throttle.allow(f"muted:{group_id}:{user_id}", MUTE_SETTLE)
        previous = await self._remember(policy, user_id, missing)
        if previous is not None and not settled:
            if message_id is not None:
                deleted = AuditEvent.message_deleted(
                    group_id, self.clock.now(), user_id, "sent before the mute took effect"
                )
                await record(self.uow, deleted)
            return MuteOutcome.MUTED
        try:
            await self.messenger.restrict(group_id, user_id)
        except MessengerError as error:
            if previous is None:
                await self._forget(group_id, user_id)
            if isinstance(error, TargetIsAdmin):
                await self.memberships.forget_admins(group_id)
                return MuteOutcome.TARGET_IS_ADMIN
            await self._restrict_failed(group_id, user_id, error)
            return MuteOutcome.FAILED
        warning = MuteWarning(group_id, member, policy.channels_of(missing), reason, thread_id)
        warning_id = await self._warn_quietly(warning)
        await self._record_mute(
            policy,
            user_id,
            missing,
            warning_id,
            reason=reason,
            deleted=message_id is not None,
            first=previous is None,
        )
        if previous is not None and previous.warning_message_id is not None:
            await self._delete_quietly(group_id, previous.warning_message_id)
        return MuteOutcome.MUTED

    async def delete_foreign_post(self, group_id: GroupId, message_id: MessageId) -> None:
        """Delete a message sent on behalf of another chat: there is nobody to mute (rule 3)."""
        await self._delete_quietly(group_id, message_id)
        deleted = AuditEvent.message_deleted(
            group_id, self.clock.now(), reason="sent on behalf of another chat"
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
        """Replace a muted member's warning with one listing only what is still missing."""
        group_id, user_id = policy.group_id, member.user_id
        warning = MuteWarning(
            group_id, member, policy.channels_of(missing), WarningReason.PARTLY_JOINED
        )
        warning_id = await self._warn_quietly(warning)
        async with self.uow.begin(group_id) as tx:
            current = await tx.restrictions.get_locked(group_id, user_id)
            if current is not None:
                await tx.restrictions.save(current.still_missing(missing).with_warning(warning_id))
                if warning_id is not None:
                    await tx.actions.add(
                        warning_expiry(policy, user_id, warning_id, self.clock.now())
                    )
                await tx.commit()
        stale = current.warning_message_id if current is not None else warning_id
        if stale is not None:  # the old warning, or the new one if the mute ended meanwhile
            await self._delete_quietly(group_id, stale)

    async def lift(
        self,
        group_id: GroupId,
        user_id: UserId,
        *,
        reason: str,
        warning_id: MessageId | None = None,
    ) -> bool:
        """Lift the bot's own restriction of a member, if it holds one (rule 5).

        Deletes the member's warning: the one remembered with the restriction, or `warning_id`
        when the caller knows it (the message whose Verify button the member pressed).
        Returns whether there was a restriction to lift. Raises `MessengerError` if Telegram
        refused; the restriction is then still remembered.
        """
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user_id)
        if restriction is None:
            return False
        await self.messenger.unrestrict(group_id, user_id)
        warnings = {m for m in (restriction.warning_message_id, warning_id) if m is not None}
        for message_id in warnings:
            await self._delete_quietly(group_id, message_id)
        async with self.uow.begin(group_id) as tx:
            await tx.restrictions.delete(group_id, user_id)
            await tx.actions.cancel(group_id, ActionKind.KICK_UNVERIFIED, user_id)
            if warnings:  # deleted above
                await tx.actions.cancel(group_id, ActionKind.DELETE_MESSAGE, user_id)
            await tx.audit.record(AuditEvent.unmuted(group_id, self.clock.now(), user_id, reason))
            await tx.commit()
        return True

    # --- bookkeeping --------------------------------------------------------------------------

    async def _remember(
        self, policy: GroupPolicy, user_id: UserId, missing: tuple[ChannelId, ...]
    ) -> Restriction | None:
        """Store the restriction about to be applied; return the one it replaces, if any."""
        group_id = policy.group_id
        async with self.uow.begin(group_id) as tx:
            previous = await tx.restrictions.get_locked(group_id, user_id)
            since = previous.since if previous is not None else self.clock.now()
            kept_warning = previous.warning_message_id if previous is not None else None
            await tx.restrictions.save(
                Restriction(group_id, user_id, missing, since, kept_warning)
            )
            await tx.commit()
        return previous

    async def _forget(self, group_id: GroupId, user_id: UserId) -> None:
        async with self.uow.begin(group_id) as tx:
            await tx.restrictions.delete(group_id, user_id)
            await tx.commit()

    async def _record_mute(
        self,
        policy: GroupPolicy,
        user_id: UserId,
        missing: tuple[ChannelId, ...],
        warning_id: MessageId | None,
        *,
        reason: WarningReason,
        deleted: bool,
        first: bool,
    ) -> None:
        group_id, now = policy.group_id, self.clock.now()
        async with self.uow.begin(group_id) as tx:
            current = await tx.restrictions.get_locked(group_id, user_id)
            if current is not None:  # not lifted meanwhile
                await tx.restrictions.save(current.with_warning(warning_id))
            if deleted:
                await tx.audit.record(AuditEvent.message_deleted(group_id, now, user_id))
            await tx.audit.record(AuditEvent.muted(group_id, now, user_id, missing, reason))
            if warning_id is not None:
                await tx.audit.record(AuditEvent.warned(group_id, now, user_id))
                await tx.actions.add(warning_expiry(policy, user_id, warning_id, now))
            kick = kick_of_unverified(policy, user_id, now) if first else None
            if kick is not None:
                await tx.actions.add(kick)
            await tx.commit()

    async def _restrict_failed(
        self, group_id: GroupId, user_id: UserId, error: MessengerError
    ) -> None:
        failed = AuditEvent.action_failed(
            group_id, self.clock.now(), user_id, f"restrict: {error}"
        )
        await record(self.uow, failed)
        if isinstance(error, BotLacksRights):
            await self.notices.cannot_restrict(group_id)

    async def _delete_quietly(self, chat_id: GroupId, message_id: MessageId) -> None:
        try:
            await self.messenger.delete_message(chat_id, message_id)
        except MessengerError as error:
            log.warning("delete.failed chat=%s message=%s error=%s", chat_id, message_id, error)

    async def _warn_quietly(self, warning: MuteWarning) -> MessageId | None:
        try:
            return await self.messenger.send_warning(warning)
        except MessengerError as error:
            log.warning("warning.failed group=%s error=%s", warning.group_id, error)
            return None
