"""Raid mode's bookkeeping (rule 13): the join rate in process memory, and starting and ending.

DESIGN §5: the join rate is counted in process memory, never with a database read per join;
only the raid's changes of state are written (its start, its end, and every few seconds the
last busy moment, by the notice's refresher). With several processes each tells the others of
the joins it counts before a raid (`Invalidations`, `Cached.JOIN_RATE`: one notification a
join, none during a raid), so the rate is the whole bot's. A restart forgets the rate: the next
joins count from nothing, which at worst takes `raid_threshold` joins to start a raid again, and a
raid already going on is in the database with its last busy moment, so it goes on and ends on
time (a few seconds early at most).
"""

import asyncio
import logging
import weakref
from datetime import datetime, timedelta

import attrs

from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.invalidations import Cached, Invalidation, Invalidations
from application.ports.outbox import Outbox
from application.ports.unit_of_work import Transaction, UnitOfWork
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, UserId
from domain.notices import NoticeKind
from domain.policy import GroupPolicy
from domain.raid import JoinRate, Raid
from domain.schedule import ActionKind, deletion, notice_intent, raid_notice_refresh

log = logging.getLogger(__name__)

WAVE = 2
"""Joins of members who must be muted in a minute that make a wave: their warnings wait a few
seconds to be merged (`SendWarnings`), or dropped if the wave turns into a raid."""


@attrs.frozen
class Raids:
    """Counts the joins of non-subscribers per group, and starts and ends raids.

    - A raid starts when the joins of the last minute reach the group's `raid_threshold`, or by
      `/raid on`; the warnings still waiting to be sent are dropped (the raid notice, with the
      join buttons and a Verify for anyone, replaces them), the notice is due at once and the
      admins are told once.
    - A raid ends after its quiet period, at its end time, or by `/raid off`; the admins are
      told once, with the number muted meanwhile, and the notice says it is over.
    """

    uow: UnitOfWork
    clock: Clock
    groups: GroupCache
    outbox: Outbox
    invalidations: Invalidations
    _rates: dict[GroupId, JoinRate] = attrs.field(init=False, factory=dict[GroupId, JoinRate])
    _busy: dict[GroupId, datetime] = attrs.field(init=False, factory=dict[GroupId, datetime])
    _locks: "weakref.WeakValueDictionary[GroupId, asyncio.Lock]" = attrs.field(
        init=False, factory=weakref.WeakValueDictionary[GroupId, asyncio.Lock], repr=False
    )

    async def joined(self, policy: GroupPolicy) -> bool:
        """Count the join of a member who must be muted; whether it falls in a raid.

        In steady state this costs no database round trip: the raid is known from the cached
        policy, and the rate is counted here. Only the join that starts a raid writes.
        """
        group_id, now = policy.group_id, self.clock.now()
        rate = self._rates.setdefault(group_id, JoinRate()).count(now)
        threshold = policy.settings.raid_threshold
        busy = threshold is not None and rate >= threshold
        if busy:
            self._busy[group_id] = now
        if policy.raid_on:
            return True
        if threshold is not None:  # the other processes count it too
            await self.invalidations.publish(Invalidation(Cached.JOIN_RATE, group_id=group_id))
        if not busy:
            return False
        await self.start(group_id, rate=rate)
        return True

    def heard_join(self, group_id: GroupId) -> None:
        """Count a join another process counted (it handled the update, and mutes the member)."""
        self._rates.setdefault(group_id, JoinRate()).count(self.clock.now())

    def in_a_wave(self, policy: GroupPolicy) -> bool:
        """Whether members who must be muted come in a wave (a raid may be starting).

        At least `WAVE` of them joined in the last minute, in a group where a raid may start by
        itself.
        """
        if policy.settings.raid_threshold is None:
            return False
        rate = self._rates.get(policy.group_id)
        return rate is not None and rate.current(self.clock.now()) >= WAVE

    def busy_at(self, group_id: GroupId) -> datetime | None:
        """The last moment this process saw the group's join rate at or above the threshold."""
        return self._busy.get(group_id)

    def forget_rate(self, group_id: GroupId) -> None:
        """Count the group's joins from nothing again (a raid ended)."""
        self._rates.pop(group_id, None)
        self._busy.pop(group_id, None)

    async def start(
        self,
        group_id: GroupId,
        *,
        rate: int | None = None,
        by: UserId | None = None,
        lasting: timedelta | None = None,
    ) -> bool:
        """Start a raid (by the join `rate`, or by the admin `by` for `lasting`).

        Returns whether one started now. An admin's start during a raid makes it theirs: it
        ends `lasting` from now.
        """
        async with self._locks.setdefault(group_id, asyncio.Lock()):
            now = self.clock.now()
            until = now + lasting if lasting is not None else None
            async with self.uow.begin(group_id) as tx:
                current = await tx.groups.raid_locked(group_id)
                if current is not None and current.active:
                    if by is None or until is None:
                        return False
                    await tx.groups.save_raid(group_id, current.taken_over(by, until))
                    await tx.commit()
                    await self.groups.forget(group_id)
                    return False
                if current is not None and current.notice_id is not None:
                    # The last raid's notice was never closed: it goes, a new one comes.
                    await tx.actions.add(deletion(group_id, current.notice_id, now))
                await tx.groups.save_raid(group_id, Raid(now, now, until, by))
                await _drop_waiting_warnings(tx, group_id)
                await _renotice(tx, group_id, now)
                await tx.actions.add(
                    notice_intent(group_id, NoticeKind.RAID_STARTED, now, count=rate)
                )
                reason = reasons.RAID_BY_RATE.format(count=rate) if by is None else reasons.RAID_ON
                await tx.audit.record(
                    AuditEvent.raid(group_id, now, started=True, actor=by, reason=reason)
                )
                await tx.commit()
        await self.groups.forget(group_id)
        self.outbox.wake(group_id)
        log.warning("raid.started group=%s rate=%s by=%s", group_id, rate, by)
        return True

    async def end(self, group_id: GroupId, *, by: UserId | None = None) -> int | None:
        """End the raid going on, if any; the number of members muted during it, or `None`.

        The admins are told once; the raid's notice says it is over next (its refresh is due
        at once) and is then forgotten with the raid.
        """
        async with self._locks.setdefault(group_id, asyncio.Lock()):
            now = self.clock.now()
            async with self.uow.begin(group_id) as tx:
                current = await tx.groups.raid_locked(group_id)
                if current is None or not current.active:
                    return None
                muted = await tx.audit.count(group_id, AuditKind.MUTED, current.started_at)
                await tx.groups.save_raid(group_id, current.ended(now))
                await _renotice(tx, group_id, now)
                await tx.actions.add(
                    notice_intent(group_id, NoticeKind.RAID_ENDED, now, count=muted)
                )
                ended = reasons.RAID_ENDED if by is None else reasons.RAID_ENDED_BY_ADMIN
                reason = ended.format(count=muted)
                await tx.audit.record(
                    AuditEvent.raid(group_id, now, started=False, actor=by, reason=reason)
                )
                await tx.commit()
        self.forget_rate(group_id)
        await self.groups.forget(group_id)
        self.outbox.wake(group_id)
        log.warning("raid.ended group=%s muted=%s by=%s", group_id, muted, by)
        return muted


async def _drop_waiting_warnings(tx: Transaction, group_id: GroupId) -> None:
    """The warnings not sent yet go: the raid notice speaks for every muted newcomer."""
    for action in await tx.actions.pending(group_id):
        if action.kind is ActionKind.SEND_WARNING:
            await tx.actions.complete(group_id, action.action_id)


async def _renotice(tx: Transaction, group_id: GroupId, now: datetime) -> None:
    """The raid notice's refresh, due now (one at a time)."""
    for action in await tx.actions.pending(group_id):
        if action.kind is ActionKind.RAID_NOTICE:
            await tx.actions.complete(group_id, action.action_id)
    await tx.actions.add(raid_notice_refresh(group_id, now))
