"""Rule 11: the paced sender posts the notices to admins that were left as durable intents."""

import logging
from datetime import timedelta

import attrs

from application.errors import MessengerError, MessengerUnavailable
from application.intents import RoundReport, claim_one, complete, defer
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.messenger import AdminNotice, MemberNotice, Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import GroupId
from domain.language import DEFAULT_LANGUAGE, group_language
from domain.notices import NoticeKind
from domain.schedule import ActionKind, ScheduledAction, worth_reporting

log = logging.getLogger(__name__)

NOTICE_LEASE = timedelta(seconds=30)
"""How long a claimed intent is held while its notice is sent (a paced send may wait)."""
_KINDS = frozenset({ActionKind.SEND_NOTICE})


@attrs.frozen
class SendNotices:
    """Rules 8 and 11: notices to admins go out paced, after the warnings, never lost.

    - Storing a notice (`AdminNotices`, throttled per problem there) never waits on Telegram;
      this posts it when the group's send budget allows. The sender runs it only when no
      warning is due in the group: notices come last.
    - A notice about a channel the group no longer requires is dropped.
    - A notice Telegram could not take (network, 5xx, 429 past the budget) is tried again after
      `retry_after` or a backoff: deferred, never dropped. A refusal (the bot cannot write
      there) ends it, logged, and audited in a group the bot protects.
    - Rule 12: a member freed by joining is told so in their private chat. Telegram refuses
      when they never started the bot (or blocked it): that ends it quietly, as expected, not
      as a failure worth the audit trail.
    """

    lookups: Lookups
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock

    async def execute(self, group_id: GroupId) -> RoundReport:
        """Post the group's earliest due notice, if any."""
        intent = await claim_one(self.uow, group_id, _KINDS, self.clock.now(), NOTICE_LEASE)
        if intent is None:
            return RoundReport()
        notice = await self._notice(intent)
        if notice is None:
            await complete(self.uow, intent)
            return RoundReport(dropped=1)
        try:
            if isinstance(notice, MemberNotice):
                await self.messenger.tell_member(notice)
            else:
                await self.messenger.notify_admins(notice)
        except MessengerUnavailable as error:
            await self._defer(intent, error)
            return RoundReport(deferred=1)
        except MessengerError as error:
            if isinstance(notice, MemberNotice):  # never started the bot, or blocked it
                log.debug("member_notice.refused", extra={"group": group_id, "error": str(error)})
                await complete(self.uow, intent)
            else:
                await self._refused(intent, error)
            return RoundReport(dropped=1)
        await complete(self.uow, intent)
        log.info("notice.sent", extra={"group": group_id, "notice": str(intent.notice)})
        return RoundReport(sent=1)

    async def _notice(self, intent: ScheduledAction) -> AdminNotice | MemberNotice | None:
        """The notice the intent stands for; `None` when it is malformed or obsolete."""
        if intent.notice is None:
            return None
        policy = (await self.lookups.snapshot(intent.group_id)).policy
        # Rule 15: the admins' notices speak the group's language, a member's their own.
        language = group_language(policy.settings.language if policy is not None else None)
        match intent.notice:
            case NoticeKind.CANNOT_RESTRICT:
                return AdminNotice(intent.group_id, NoticeKind.CANNOT_RESTRICT, language=language)
            case NoticeKind.RAID_STARTED | NoticeKind.RAID_ENDED:
                return AdminNotice(
                    intent.group_id, intent.notice, count=intent.count, language=language
                )
            case NoticeKind.MEMBER_FREED:
                if intent.user_id is None:
                    return None
                title = policy.title if policy is not None else ""
                return MemberNotice(
                    intent.group_id,
                    intent.user_id,
                    NoticeKind.MEMBER_FREED,
                    title,
                    language=intent.language or DEFAULT_LANGUAGE,
                )
            case NoticeKind.CHECKS_FAILING:
                if policy is None or intent.channel_id is None:
                    return None
                channel = policy.channel(intent.channel_id)
                if channel is None:  # unlinked meanwhile: nothing to tell
                    return None
                return AdminNotice(
                    intent.group_id, NoticeKind.CHECKS_FAILING, channel, language=language
                )

    async def _defer(self, intent: ScheduledAction, error: MessengerUnavailable) -> None:
        failures, now = intent.attempts + 1, self.clock.now()
        wait = (await defer(self.uow, intent, now, error)).due_at - now
        level = logging.WARNING if worth_reporting(failures) else logging.DEBUG
        log.log(
            level,
            "notice.deferred group=%s kind=%s failures=%s retry_in=%ss error=%s",
            intent.group_id,
            intent.notice,
            failures,
            f"{wait.total_seconds():g}",
            error,
        )

    async def _refused(self, intent: ScheduledAction, error: MessengerError) -> None:
        group_id = intent.group_id
        log.warning("notice.refused group=%s kind=%s error=%s", group_id, intent.notice, error)
        async with self.uow.begin(group_id) as tx:
            await tx.actions.complete(group_id, intent.action_id)
            if await tx.groups.get(group_id) is not None:  # a tenant: its trail says so
                reason = reasons.NOTICE_REFUSED.format(notice=intent.notice, error=error)
                failed = AuditEvent.action_failed(group_id, self.clock.now(), None, reason)
                await tx.audit.record(failed)
            await tx.commit()
