"""Rule 13: the paced sender keeps a raid's one notice up to date and ends the raid when over."""

import logging
from datetime import timedelta

import attrs

from application.errors import MessageGone, MessengerError, MessengerUnavailable
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.messenger import Messenger, RaidNotice
from application.ports.unit_of_work import UnitOfWork
from application.raids import Raids
from domain.audit import AuditKind
from domain.ids import GroupId, MessageId
from domain.language import group_language
from domain.raid import QUIET_PERIOD, Raid
from domain.schedule import ActionKind, ScheduledAction, deletion, worth_reporting

log = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(seconds=5)
"""The notice is edited at most this often (and only when its count changed)."""
REFRESH_LEASE = timedelta(seconds=10)
"""How long a claimed refresh is held while the notice is sent (a paced send may wait); a
process killed meanwhile leaves it to the next one this long."""
_KINDS = frozenset({ActionKind.RAID_NOTICE})


@attrs.frozen
class RaidReport:
    """What one refresh came to."""

    posted: bool = False
    edited: bool = False
    ended: bool = False
    closed: bool = False
    """The notice said the raid is over and the raid was forgotten."""
    due: bool = False
    """A refresh was due (False: nothing to do)."""

    @property
    def idle(self) -> bool:
        """No refresh was due."""
        return not self.due


@attrs.frozen
class RefreshRaid:
    """Rule 13: one notice per raid, posted once and then edited in place.

    - While a raid lasts, its notice shows how many members were muted since it began, edited
      at most every `REFRESH_EVERY` and only when the number changed; it carries the join
      buttons and a Verify that acts on whoever presses it.
    - An automatic raid ends after `quiet` with the join rate under the threshold; one an admin
      started ends at its end time; protection turned off ends it too. The admins are told
      once, with the number muted.
    - Once over, the notice says so, stays for the group's `warning_ttl`, and the raid is
      forgotten.
    - Everything is in the database (the raid, its notice's id, the refresh as a scheduled
      action), so a restart goes on where the last process stopped. A notice Telegram could
      not take now is tried again at the next refresh; one deleted by an admin is posted anew.
    """

    raids: Raids
    lookups: Lookups
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock
    quiet: timedelta = QUIET_PERIOD

    async def execute(self, group_id: GroupId) -> RaidReport:
        """Refresh the group's raid notice, if a refresh is due."""
        async with self.uow.begin(group_id) as tx:
            claimed = await tx.actions.claim_due(
                group_id, self.clock.now(), REFRESH_LEASE, 1, _KINDS
            )
            raid = await tx.groups.raid_locked(group_id) if claimed else None
            await tx.commit()
        if not claimed:
            return RaidReport()
        refresh = claimed[0]
        if raid is None:  # forgotten meanwhile: nothing to show
            await self._complete(refresh)
            return RaidReport(due=True)
        policy = (await self.lookups.snapshot(group_id)).protected_policy
        ended = False
        if raid.active:
            busy_at = self.raids.busy_at(group_id)
            if policy is None or raid.over(self.clock.now(), busy_at, self.quiet):
                ended = await self.raids.end(group_id) is not None
            else:
                await self._note_busy(group_id)
        async with self.uow.begin(group_id) as tx:
            raid = await tx.groups.raid_locked(group_id)
            if raid is None:
                await tx.actions.complete(group_id, refresh.action_id)
                await tx.commit()
                return RaidReport(due=True, ended=ended)
            muted = await tx.audit.count(group_id, AuditKind.MUTED, raid.started_at)
            await tx.commit()
        channels = policy.channels if policy is not None else ()
        language = group_language(policy.settings.language if policy is not None else None)
        notice = RaidNotice(group_id, channels, muted, over=not raid.active, language=language)
        shown = await self._show(raid, notice, refresh)
        if shown is None:
            return RaidReport(due=True, ended=ended)
        posted, edited = shown
        if not raid.active:
            await self._close(group_id, raid, refresh)
            return RaidReport(posted, edited, ended, closed=True, due=True)
        await self._again(refresh)
        return RaidReport(posted, edited, ended, due=True)

    async def _show(
        self, raid: Raid, notice: RaidNotice, refresh: ScheduledAction
    ) -> tuple[bool, bool] | None:
        """Post or edit the notice; whether it was posted, edited; `None` when it failed."""
        group_id = notice.group_id
        if raid.notice_id is None and not raid.active:
            return False, False  # over before its notice went out: nothing to say
        try:
            if raid.notice_id is None:
                notice_id = await self.messenger.send_raid_notice(notice)
                await self._shown(group_id, notice_id, notice.muted)
                return True, False
            if raid.shown == notice.muted and raid.active:
                return False, False
            await self.messenger.edit_raid_notice(notice, raid.notice_id)
        except MessengerUnavailable as error:  # tried again at the next refresh
            await self._failed(refresh, error)
            return None
        except MessengerError as error:
            if not raid.active:  # the notice cannot say it is over: it goes all the same
                log.warning("raid.notice_not_closed group=%s error=%s", group_id, error)
                return False, False
            if isinstance(error, MessageGone):  # an admin deleted it: a new one comes next
                await self._shown(group_id, None, None)
                await self._again(refresh)
            else:
                await self._failed(refresh, error)
            return None
        await self._shown(group_id, raid.notice_id, notice.muted)
        return False, True

    async def _shown(
        self, group_id: GroupId, notice_id: MessageId | None, muted: int | None
    ) -> None:
        async with self.uow.begin(group_id) as tx:
            raid = await tx.groups.raid_locked(group_id)
            if raid is not None:
                await tx.groups.save_raid(group_id, raid.noticed(notice_id, muted))
                await tx.commit()

    async def _note_busy(self, group_id: GroupId) -> None:
        """Store the last busy moment this process saw, so a restart keeps it."""
        at = self.raids.busy_at(group_id)
        async with self.uow.begin(group_id) as tx:
            raid = await tx.groups.raid_locked(group_id)
            if raid is not None and raid.active and raid.busy(at) != raid:
                await tx.groups.save_raid(group_id, raid.busy(at))
                await tx.commit()

    async def _close(self, group_id: GroupId, raid: Raid, refresh: ScheduledAction) -> None:
        """The notice said the raid is over: it goes after `warning_ttl`; the raid is forgotten."""
        now = self.clock.now()
        policy = (await self.lookups.snapshot(group_id)).policy
        ttl = policy.settings.warning_ttl if policy is not None else timedelta(0)
        async with self.uow.begin(group_id) as tx:
            current = await tx.groups.raid_locked(group_id)
            if current is not None and not current.active:
                await tx.groups.save_raid(group_id, None)
            if raid.notice_id is not None:
                await tx.actions.add(deletion(group_id, raid.notice_id, now + ttl))
            await tx.actions.complete(group_id, refresh.action_id)
            await tx.commit()

    async def _again(self, refresh: ScheduledAction) -> None:
        """The next refresh, `REFRESH_EVERY` from now."""
        later = attrs.evolve(refresh, due_at=self.clock.now() + REFRESH_EVERY, attempts=0)
        async with self.uow.begin(refresh.group_id) as tx:
            await tx.actions.reschedule(later)
            await tx.commit()

    async def _failed(self, refresh: ScheduledAction, error: MessengerError) -> None:
        now = self.clock.now()
        retry_after = error.retry_after if isinstance(error, MessengerUnavailable) else None
        later = refresh.deferred(now, retry_after)
        if later.due_at - now > REFRESH_EVERY and retry_after is None:
            later = attrs.evolve(later, due_at=now + REFRESH_EVERY)
        async with self.uow.begin(refresh.group_id) as tx:
            await tx.actions.reschedule(later)
            await tx.commit()
        level = logging.WARNING if worth_reporting(later.attempts) else logging.DEBUG
        log.log(
            level,
            "raid.notice_failed group=%s failures=%s error=%s",
            refresh.group_id,
            later.attempts,
            error,
        )

    async def _complete(self, refresh: ScheduledAction) -> None:
        async with self.uow.begin(refresh.group_id) as tx:
            await tx.actions.complete(refresh.group_id, refresh.action_id)
            await tx.commit()
