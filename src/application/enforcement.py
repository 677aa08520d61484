"""The enforcement steps the use cases share: read a group, judge a member, mute, lift.

Transactions never wait on Telegram: each step reads in one short transaction, closes it, calls
Telegram, then writes the outcome in another short transaction.
"""

import asyncio
import enum
import logging
import uuid
import weakref
from datetime import timedelta

import attrs

from application.errors import BotLacksRights, MessengerError, TargetIsAdmin
from application.ports.caches import GroupCache, GroupSnapshot, MembershipCache
from application.ports.clock import Clock
from application.ports.messenger import (
    AdminNotice,
    Messenger,
    MuteWarning,
    NoticeKind,
    WarningReason,
)
from application.ports.throttle import Throttle
from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent, AuditKind
from domain.enforcement import decide
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.membership import CheckOutcome, Verdict, judge, outcome_of
from domain.policy import GroupPolicy, RequiredChannel
from domain.restriction import Restriction
from domain.schedule import ActionKind, ScheduledAction
from domain.senders import Person, Sender, exemption_of, is_foreign_chat_post

log = logging.getLogger(__name__)

ADMIN_NOTICE_COOLDOWN = timedelta(hours=6)
"""Rule 8: admins hear about a failing channel once, not per message."""
MUTE_SETTLE = timedelta(seconds=10)
"""Messages a member sent before their mute took effect arrive within this time after it: they
are deleted without another mute or warning (a burst of messages gets one warning, not one
each)."""


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
    RESTRICT_FAILED = "restrict_failed"


def channels_of(policy: GroupPolicy, ids: tuple[ChannelId, ...]) -> tuple[RequiredChannel, ...]:
    """The required channels with these ids, with their display data, in the given order."""
    found = (policy.channel(channel_id) for channel_id in ids)
    return tuple(channel for channel in found if channel is not None)


@attrs.frozen
class Enforcer:
    """Shared enforcement steps; stateless apart from its ports and the admin lookups in flight."""

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    memberships: MembershipCache
    groups: GroupCache
    throttle: Throttle
    _locks: "weakref.WeakValueDictionary[tuple[object, ...], asyncio.Lock]" = attrs.field(
        init=False,
        factory=weakref.WeakValueDictionary[tuple[object, ...], asyncio.Lock],
        repr=False,
    )
    """Locks of work that must not overlap (a group's admin lookup, muting one member), each
    gone once nobody holds or awaits it."""

    def _lock(self, *key: object) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # --- reading ------------------------------------------------------------------------------

    async def snapshot(self, group_id: GroupId) -> GroupSnapshot:
        """The group's policy and exemptions, from the cache or one short transaction."""
        cached = await self.groups.get(group_id)
        if cached is not None:
            return cached
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id)
            exempt = await tx.exemptions.all(group_id)
        snapshot = GroupSnapshot(group_id, policy, exempt)
        await self.groups.put(snapshot)
        return snapshot

    async def admins(self, group_id: GroupId) -> frozenset[UserId] | None:
        """The group's admins, from the cache or Telegram; `None` if Telegram cannot say.

        Updates of one group handled at once fetch the list once: the others wait for it, then
        find it cached (the lock is only contended while a fetch is in flight).
        """
        async with self._lock("admins", group_id):
            cached = await self.memberships.admins(group_id)
            if cached is not None:
                return cached
            try:
                admins = await self.messenger.admins(group_id)
            except MessengerError as error:
                log.warning("admins.unavailable group=%s error=%s", group_id, error)
                return None
            await self.memberships.store_admins(group_id, admins)
            return admins

    async def verdict(self, policy: GroupPolicy, user_id: UserId, *, fresh: bool) -> Verdict:
        """Check every required channel at once; `fresh` skips the cache (rule 5)."""
        ids = policy.channel_ids
        outcomes = await asyncio.gather(*(self._outcome(c, user_id, fresh=fresh) for c in ids))
        return judge(ids, dict(zip(ids, outcomes, strict=True)))

    async def _outcome(
        self, channel_id: ChannelId, user_id: UserId, *, fresh: bool
    ) -> CheckOutcome:
        if not fresh:
            cached = await self.memberships.membership(channel_id, user_id)
            if cached is not None:
                return outcome_of(cached)
        try:
            membership = await self.messenger.membership(channel_id, user_id)
        except MessengerError as error:
            log.warning("membership.unknown channel=%s error=%s", channel_id, error)
            return CheckOutcome.UNKNOWN
        await self.memberships.store_membership(channel_id, user_id, membership)
        return outcome_of(membership)

    # --- the whole rule ---------------------------------------------------------------------

    async def enforce(
        self,
        group_id: GroupId,
        sender: Sender,
        member: Person,
        reason: WarningReason,
        *,
        message_id: MessageId | None = None,
        thread_id: int | None = None,
    ) -> Enforcement:
        """Rules 3, 4 and 8 for one member who spoke or joined."""
        snapshot = await self.snapshot(group_id)
        policy = snapshot.policy
        if policy is None or not policy.is_protected:
            return Enforcement.NOT_PROTECTED
        admins = await self.admins(group_id)
        if admins is None:  # without the admin list, an admin could be muted: let it pass
            return Enforcement.ALLOWED_UNVERIFIED
        exemption = exemption_of(
            sender,
            group_id=group_id,
            bot_id=self.messenger.bot_id,
            admins=admins,
            exempt_users=snapshot.exempt,
            own_channels=policy.channel_ids,
        )
        if exemption is not None:
            return Enforcement.EXEMPT
        if is_foreign_chat_post(sender):
            if message_id is not None:
                await self._delete_quietly(group_id, message_id)
                await self.record(
                    AuditEvent(
                        group_id,
                        AuditKind.MESSAGE_DELETED,
                        self.clock.now(),
                        reason="sent on behalf of another chat",
                    )
                )
            return Enforcement.FOREIGN_POST_DELETED
        decision = decide(
            await self.verdict(policy, member.user_id, fresh=False),
            policy.settings.failure_policy,
        )
        await self.report_unanswered(policy, decision.unanswered)
        if not decision.restrict:
            return Enforcement.ALLOWED_UNVERIFIED if decision.unanswered else Enforcement.ALLOWED
        return await self.punish(
            policy,
            member,
            decision.restrict_for,
            reason,
            message_id=message_id,
            thread_id=thread_id,
        )

    async def report_unanswered(
        self, policy: GroupPolicy, unanswered: tuple[ChannelId, ...]
    ) -> None:
        """Audit a failing check and tell the admins, once per channel per cooldown (rule 8)."""
        for channel in channels_of(policy, unanswered):
            key = f"unanswered:{policy.group_id}:{channel.channel_id}"
            if not await self.throttle.allow(key, ADMIN_NOTICE_COOLDOWN):
                continue
            await self.record(
                AuditEvent(
                    policy.group_id,
                    AuditKind.CHECK_FAILED,
                    self.clock.now(),
                    channel_id=channel.channel_id,
                    reason=f"failure policy {policy.settings.failure_policy}",
                )
            )
            await self.notify_quietly(
                AdminNotice(policy.group_id, NoticeKind.CHECKS_FAILING, channel)
            )

    # --- muting and lifting -----------------------------------------------------------------

    async def punish(
        self,
        policy: GroupPolicy,
        member: Person,
        missing: tuple[ChannelId, ...],
        reason: WarningReason,
        *,
        message_id: MessageId | None = None,
        thread_id: int | None = None,
    ) -> Enforcement:
        """Delete the message, mute the member, warn them, and remember it all (rule 3).

        The restriction is remembered before Telegram is asked to apply it, so a crash in
        between never leaves a member muted by the bot without the bot knowing (rule 10); a
        refused restriction is forgotten again. One member is muted by one update at a time;
        a message that raced a mute of the last `MUTE_SETTLE` is only deleted.
        """
        async with self._lock("member", policy.group_id, member.user_id):
            return await self._punish(
                policy, member, missing, reason, message_id=message_id, thread_id=thread_id
            )

    async def _punish(
        self,
        policy: GroupPolicy,
        member: Person,
        missing: tuple[ChannelId, ...],
        reason: WarningReason,
        *,
        message_id: MessageId | None,
        thread_id: int | None,
    ) -> Enforcement:
        group_id, user_id = policy.group_id, member.user_id
        if message_id is not None:
            await self._delete_quietly(group_id, message_id)
        settled = await self.throttle.allow(f"muted:{group_id}:{user_id}", MUTE_SETTLE)
        previous = await self._remember(policy, user_id, missing)
        if previous is not None and not settled:
            if message_id is not None:
                await self.record(
                    AuditEvent(
                        group_id,
                        AuditKind.MESSAGE_DELETED,
                        self.clock.now(),
                        subject=user_id,
                        reason="sent before the mute took effect",
                    )
                )
            return Enforcement.RESTRICTED
        try:
            await self.messenger.restrict(group_id, user_id)
        except MessengerError as error:
            if previous is None:
                await self._forget(group_id, user_id)
            if isinstance(error, TargetIsAdmin):
                await self.memberships.forget_admins(group_id)
                return Enforcement.EXEMPT
            await self._restrict_failed(policy, user_id, error)
            return Enforcement.RESTRICT_FAILED
        warning = MuteWarning(group_id, member, channels_of(policy, missing), reason, thread_id)
        warning_id = await self._warn_quietly(warning)
        await self._record_restriction(
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
        return Enforcement.RESTRICTED

    async def _remember(
        self, policy: GroupPolicy, user_id: UserId, missing: tuple[ChannelId, ...]
    ) -> Restriction | None:
        """Store the restriction about to be applied; return the one it replaces, if any."""
        group_id = policy.group_id
        async with self.uow.begin(group_id) as tx:
            previous = await tx.restrictions.get_for_update(group_id, user_id)
            since = previous.since if previous is not None else self.clock.now()
            kept_warning = previous.warning_message_id if previous is not None else None
            await tx.restrictions.save(
                Restriction(group_id, user_id, missing, since, kept_warning)
            )
            await tx.commit()
        return previous

    async def update_missing(
        self, group_id: GroupId, user_id: UserId, missing: tuple[ChannelId, ...]
    ) -> None:
        """Note which channels a member the bot muted still misses.

        The restriction is read again, locked, in the same transaction and written only if
        the list changed, so a warning id written meanwhile by `punish` is kept.
        """
        async with self.uow.begin(group_id) as tx:
            current = await tx.restrictions.get_for_update(group_id, user_id)
            if current is not None and current.missing != missing:
                await tx.restrictions.save(current.still_missing(missing))
                await tx.commit()

    async def rewarn(
        self, policy: GroupPolicy, member: Person, missing: tuple[ChannelId, ...]
    ) -> None:
        """Replace a muted member's warning with one listing only what is still missing."""
        group_id, user_id = policy.group_id, member.user_id
        warning = MuteWarning(
            group_id, member, channels_of(policy, missing), WarningReason.PARTLY_JOINED
        )
        warning_id = await self._warn_quietly(warning)
        async with self.uow.begin(group_id) as tx:
            current = await tx.restrictions.get_for_update(group_id, user_id)
            if current is not None:
                await tx.restrictions.save(current.still_missing(missing).with_warning(warning_id))
                if warning_id is not None:
                    await tx.actions.add(self._warning_expiry(policy, user_id, warning_id))
                await tx.commit()
        stale = current.warning_message_id if current is not None else warning_id
        if stale is not None:  # the old warning, or the new one if the mute ended meanwhile
            await self._delete_quietly(group_id, stale)

    async def _forget(self, group_id: GroupId, user_id: UserId) -> None:
        async with self.uow.begin(group_id) as tx:
            await tx.restrictions.delete(group_id, user_id)
            await tx.commit()

    async def _record_restriction(
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
            current = await tx.restrictions.get_for_update(group_id, user_id)
            if current is not None:  # not lifted meanwhile
                await tx.restrictions.save(current.with_warning(warning_id))
            why = f"{reason}; missing {', '.join(str(c) for c in missing)}"
            if deleted:
                await tx.audit.record(
                    AuditEvent(group_id, AuditKind.MESSAGE_DELETED, now, subject=user_id)
                )
            await tx.audit.record(
                AuditEvent(group_id, AuditKind.MUTED, now, subject=user_id, reason=why)
            )
            if warning_id is not None:
                await tx.audit.record(AuditEvent(group_id, AuditKind.WARNED, now, subject=user_id))
                await tx.actions.add(self._warning_expiry(policy, user_id, warning_id))
            kick_after = policy.settings.kick_after
            if first and kick_after is not None:
                await tx.actions.add(
                    self.action(
                        group_id, ActionKind.KICK_UNVERIFIED, after=kick_after, user_id=user_id
                    )
                )
            await tx.commit()

    async def release(
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
            await tx.audit.record(
                AuditEvent(
                    group_id, AuditKind.UNMUTED, self.clock.now(), subject=user_id, reason=reason
                )
            )
            await tx.commit()
        return True

    # --- helpers ----------------------------------------------------------------------------

    def _warning_expiry(
        self, policy: GroupPolicy, user_id: UserId, warning_id: MessageId
    ) -> ScheduledAction:
        """Deleting a warning once the group's `warning_ttl` has passed."""
        return self.action(
            policy.group_id,
            ActionKind.DELETE_MESSAGE,
            after=policy.settings.warning_ttl,
            user_id=user_id,
            message_id=warning_id,
        )

    def action(
        self,
        group_id: GroupId,
        kind: ActionKind,
        *,
        after: timedelta = timedelta(0),
        user_id: UserId | None = None,
        message_id: MessageId | None = None,
    ) -> ScheduledAction:
        """A new action due `after` from now."""
        return ScheduledAction(
            uuid.uuid4(), group_id, kind, self.clock.now() + after, user_id, message_id
        )

    async def record(self, event: AuditEvent) -> None:
        """Append one audit event in its own transaction."""
        async with self.uow.begin(event.group_id) as tx:
            await tx.audit.record(event)
            await tx.commit()

    async def _restrict_failed(
        self, policy: GroupPolicy, user_id: UserId, error: MessengerError
    ) -> None:
        await self.record(
            AuditEvent(
                policy.group_id,
                AuditKind.ACTION_FAILED,
                self.clock.now(),
                subject=user_id,
                reason=f"restrict: {error}",
            )
        )
        if isinstance(error, BotLacksRights) and await self.throttle.allow(
            f"cannot-restrict:{policy.group_id}", ADMIN_NOTICE_COOLDOWN
        ):
            await self.notify_quietly(AdminNotice(policy.group_id, NoticeKind.CANNOT_RESTRICT))

    async def _delete_quietly(self, chat_id: int, message_id: MessageId) -> None:
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

    async def notify_quietly(self, notice: AdminNotice) -> None:
        """Tell the admins; a failure to do so is logged, never raised."""
        try:
            await self.messenger.notify_admins(notice)
        except MessengerError as error:
            log.warning("notice.failed group=%s error=%s", notice.group_id, error)
