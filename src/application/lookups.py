"""Cached look-ups that enforcement reads: a group's snapshot, its admins, a member's channels.

DESIGN §5: in steady state these answer from the in-process caches, so a message from a
subscribed member costs no Telegram call and no database round trip. A miss reads the database
in one short transaction, or asks Telegram, and fills the cache.
"""

import asyncio
import logging
import weakref

import attrs

from application.errors import MessengerError
from application.ports.caches import GroupCache, GroupSnapshot, MembershipCache
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain.decision import Decision, decide
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import CheckOutcome, Verdict, judge, outcome_of
from domain.policy import GroupPolicy

log = logging.getLogger(__name__)


@attrs.frozen
class Lookups:
    """Reads through the caches; one fetch of a group's admins at a time (single flight)."""

    uow: UnitOfWork
    messenger: Messenger
    memberships: MembershipCache
    groups: GroupCache
    _admin_locks: "weakref.WeakValueDictionary[GroupId, asyncio.Lock]" = attrs.field(
        init=False, factory=weakref.WeakValueDictionary[GroupId, asyncio.Lock], repr=False
    )
    """One lock per group whose admins are being fetched, gone once nobody holds or awaits it."""

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
        cached = await self.memberships.admins(group_id)
        if cached is not None:  # the hot path: no lock to take
            return cached
        async with self._admin_locks.setdefault(group_id, asyncio.Lock()):
            cached = await self.memberships.admins(group_id)  # another fetch may have ended
            if cached is not None:
                return cached
            try:
                admins = await self.messenger.admins(group_id)
            except MessengerError as error:
                log.warning("admins.unavailable group=%s error=%s", group_id, error)
                return None
            await self.memberships.store_admins(group_id, admins)
            return admins

    async def decision(self, policy: GroupPolicy, user_id: UserId, *, fresh: bool) -> Decision:
        """Check every required channel and apply the group's failure policy (rules 2 and 8).

        `fresh` skips the membership cache (rule 5: Verify always asks Telegram).
        """
        verdict = await self._verdict(policy, user_id, fresh=fresh)
        return decide(verdict, policy.settings.failure_policy)

    async def _verdict(self, policy: GroupPolicy, user_id: UserId, *, fresh: bool) -> Verdict:
        """Check every required channel, the cached answers first; `fresh` skips the cache.

        Only the channels the cache cannot answer are asked, at once: the hot path (every
        answer cached) schedules no task.
        """
        ids = policy.channel_ids
        outcomes: dict[ChannelId, CheckOutcome] = {}
        asking: list[ChannelId] = []
        for channel_id in ids:
            cached = None if fresh else await self.memberships.membership(channel_id, user_id)
            if cached is None:
                asking.append(channel_id)
            else:
                outcomes[channel_id] = outcome_of(cached)
        if asking:
            asked = await asyncio.gather(*(self._asked(c, user_id) for c in asking))
            outcomes.update(zip(asking, asked, strict=True))
        return judge(ids, outcomes)

    async def _asked(self, channel_id: ChannelId, user_id: UserId) -> CheckOutcome:
        """Ask Telegram for a membership and cache the answer."""
        try:
            membership = await self.messenger.membership(channel_id, user_id)
        except MessengerError as error:
            log.warning("membership.unknown channel=%s error=%s", channel_id, error)
            return CheckOutcome.UNKNOWN
        await self.memberships.store_membership(channel_id, user_id, membership)
        return outcome_of(membership)
