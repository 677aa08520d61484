"""Rule 11: the paced sender posts the warnings that muting left as durable intents."""

import logging
from datetime import timedelta

import attrs

from application.errors import MessengerError, MessengerUnavailable
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.messenger import Messenger, MuteWarning
from application.ports.unit_of_work import UnitOfWork
from application.raids import Raids
from application.restrictions import delete_quietly
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.language import group_language
from domain.policy import GroupPolicy
from domain.restriction import Restriction
from domain.schedule import ActionKind, ScheduledAction, warning_expiry
from domain.senders import Person

log = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=30)
"""How long a claimed intent is held while its warning is sent (a paced send may wait)."""
WAVE_WAIT = timedelta(seconds=3)
"""In a wave of joins (`Raids.in_a_wave`), how long a warning waits to be merged with the next
ones, or dropped when the wave turns into a raid (rule 13)."""
MAX_MERGED = 50
"""The most members one merged warning names (Telegram caps a message at 4,096 characters)."""
_KINDS = frozenset({ActionKind.SEND_WARNING})


@attrs.frozen
class SendReport:
    """What one round in a group came to."""

    sent: int = 0
    """Messages posted (a merged warning counts once)."""
    warned: int = 0
    """Members those messages named."""
    dropped: int = 0
    """Intents whose member is no longer muted by the bot."""
    deferred: int = 0
    """Intents Telegram could not take now: they run again later."""

    @property
    def idle(self) -> bool:
        """Nothing was due."""
        return not (self.sent or self.dropped or self.deferred)


@attrs.frozen
class SendWarnings:
    """Rules 3 and 11: warnings go out paced, merged, never lost, never obsolete.

    - Muting stores a warning intent; this posts it when the group's send budget allows, so
      moderation never waits on a message.
    - Intents that queued up in a group are merged into one message naming every member, with
      the union of their missing channels and a Verify that acts on whoever presses it.
    - An intent whose member is no longer muted by the bot is dropped.
    - A warning Telegram could not take (network, 5xx, 429 past the budget) is tried again
      after `retry_after` or a backoff: deferred, never dropped. A refusal (the bot cannot
      write there) is audited and dropped.
    - A send that timed out may have been delivered all the same: the messenger looks for that
      copy and deletes it (`Messenger.retire_lost_sends`, run by the sender's loop).
    - Once posted, the warning replaces the members' previous ones and is deleted after the
      group's `warning_ttl`.
    - Rule 13: while members who must be muted join in a wave, their warnings wait up to
      `WAVE_WAIT` to go out merged; if the wave turns into a raid, the raid's notice replaces
      them. No warning goes out during a raid.
    """

    lookups: Lookups
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock
    raids: Raids

    async def execute(self, group_id: GroupId) -> SendReport:
        """Post one (possibly merged) warning for what is due in the group."""
        intents, muted = await self._claim(group_id)
        if not intents:
            return SendReport()
        live = sorted(
            ((intent, muted[intent]) for intent in intents if intent in muted),
            key=lambda pair: (pair[1].since, pair[1].user_id),  # the longest muted first
        )
        dropped = len(intents) - len(live)
        policy = (await self.lookups.snapshot(group_id)).protected_policy
        # Nobody left to warn, protection was turned off, or a raid's notice speaks for them all
        # (rule 13: a join counted just before the raid began may leave a warning behind).
        if not live or policy is None or policy.raid_on:
            await self._complete(group_id, intents)
            return SendReport(dropped=len(intents))
        if self.raids.in_a_wave(policy) and await self._wait_for_the_wave(live):
            return SendReport(dropped=dropped)
        warning = _warning(policy, [restriction for _, restriction in live])
        try:
            warning_id = await self.messenger.send_warning(warning)
        except MessengerUnavailable as error:
            await self._defer([intent for intent, _ in live], error)
            await self._complete(group_id, [i for i in intents if i not in muted])
            return SendReport(dropped=dropped, deferred=len(live))
        except MessengerError as error:
            await self._refused(group_id, intents, error)
            return SendReport(dropped=len(intents))
        owner = None if warning.is_merged else warning.member.user_id
        warned = await self._posted(policy, intents, warning_id, owner)
        return SendReport(sent=1, warned=warned, dropped=len(intents) - warned)

    async def _claim(
        self, group_id: GroupId
    ) -> tuple[list[ScheduledAction], dict[ScheduledAction, Restriction]]:
        async with self.uow.begin(group_id) as tx:
            intents = await tx.actions.claim_due(
                group_id, self.clock.now(), SEND_LEASE, MAX_MERGED, _KINDS
            )
            muted: dict[ScheduledAction, Restriction] = {}
            for intent in intents:
                if intent.user_id is not None:
                    restriction = await tx.restrictions.get(group_id, intent.user_id)
                    if restriction is not None:
                        muted[intent] = restriction
            await tx.commit()
        return list(intents), muted

    async def _posted(
        self,
        policy: GroupPolicy,
        intents: list[ScheduledAction],
        warning_id: MessageId,
        owner: UserId | None,
    ) -> int:
        """Remember the new warning for every member still muted; retire the ones it replaces."""
        group_id, now = policy.group_id, self.clock.now()
        replaced: set[MessageId] = set()
        named = 0
        async with self.uow.begin(group_id) as tx:
            for intent in intents:
                await tx.actions.complete(group_id, intent.action_id)
                if intent.user_id is None:
                    continue
                current = await tx.restrictions.get_locked(group_id, intent.user_id)
                if current is None:  # lifted while the warning was on its way
                    continue
                if current.warning_message_id is not None:
                    replaced.add(current.warning_message_id)
                await tx.restrictions.save(current.with_warning(warning_id))
                await tx.audit.record(AuditEvent.warned(group_id, now, intent.user_id))
                named += 1
            if named:
                await tx.actions.add(warning_expiry(policy, owner, warning_id, now))
            else:
                replaced.add(warning_id)  # everyone it names was freed meanwhile
            stale = [m for m in replaced if not await tx.restrictions.warned_by(group_id, m)]
            await tx.commit()
        if owner is None and named:
            users = [i.user_id for i in intents if i.user_id is not None]
            log.info(
                "warning.merged",
                extra={"group": group_id, "users": users, "message_id": warning_id},
            )
        for message_id in stale:
            await delete_quietly(self.messenger, group_id, message_id)
        return named

    async def _wait_for_the_wave(self, live: list[tuple[ScheduledAction, Restriction]]) -> bool:
        """Put the warning off until `WAVE_WAIT` after its oldest mute; whether it was."""
        due = min(restriction.since for _, restriction in live) + WAVE_WAIT
        if due <= self.clock.now():
            return False
        async with self.uow.begin(live[0][0].group_id) as tx:
            for intent, _ in live:
                await tx.actions.reschedule(attrs.evolve(intent, due_at=due))
            await tx.commit()
        return True

    async def _defer(self, intents: list[ScheduledAction], error: MessengerUnavailable) -> None:
        first, now = intents[0], self.clock.now()
        async with self.uow.begin(first.group_id) as tx:  # one group's intents: one transaction
            for intent in intents:
                await tx.actions.reschedule(intent.deferred(now, error.retry_after))
            await tx.commit()
        log.warning(
            "warning.deferred group=%s members=%s attempt=%s error=%s",
            first.group_id,
            len(intents),
            first.attempts + 1,
            error,
        )

    async def _refused(
        self, group_id: GroupId, intents: list[ScheduledAction], error: MessengerError
    ) -> None:
        log.warning("warning.refused group=%s error=%s", group_id, error)
        now = self.clock.now()
        async with self.uow.begin(group_id) as tx:
            for intent in intents:
                await tx.actions.complete(group_id, intent.action_id)
                failed = AuditEvent.action_failed(
                    group_id, now, intent.user_id, reasons.WARN_REFUSED.format(error=error)
                )
                await tx.audit.record(failed)
            await tx.commit()

    async def _complete(self, group_id: GroupId, intents: list[ScheduledAction]) -> None:
        if not intents:
            return
        async with self.uow.begin(group_id) as tx:
            for intent in intents:
                await tx.actions.complete(group_id, intent.action_id)
            await tx.commit()


def _warning(policy: GroupPolicy, muted: list[Restriction]) -> MuteWarning:
    """One warning for these members: alone as before, or merged with the union of channels."""
    first, *others = muted
    missing: dict[ChannelId, None] = {}
    for restriction in muted:
        missing.update(dict.fromkeys(restriction.missing))
    return MuteWarning(
        policy.group_id,
        Person(first.user_id, first.name),
        policy.channels_of(missing),
        first.reason,
        first.thread_id if not others else None,
        tuple(Person(r.user_id, r.name) for r in others),
        # Rule 15: one member's warning in the language decided when they were muted; a merged
        # one names several members, so it speaks the group's language, and the catalog's text.
        language=group_language(policy.settings.language) if others else first.language,
        custom_text=None if others else policy.settings.warning_text,
        group_title=policy.title,
    )
