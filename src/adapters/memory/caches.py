"""In-process caches, bounded in size and time (cachetools), on the injected clock.

These are the production caches too: DESIGN §5 keeps hot-path data in process and invalidates it
through the events that change it. Hits and misses are counted (`nezuko_cache_lookups_total`).
"""

import time
from collections.abc import Callable
from datetime import timedelta

import attrs
from cachetools import TTLCache

from adapters.metrics import count_cache_lookup
from adapters.system_clock import SystemClock
from application.ports.caches import GroupCache, GroupSnapshot, MembershipCache, UsernameCache
from application.ports.clock import Clock
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import Membership


def _timer(clock: Clock) -> Callable[[], float]:
    """The caches' clock in seconds; the system's read directly (every lookup reads it)."""
    if type(clock) is SystemClock:
        return time.time
    return lambda: clock.now().timestamp()


def _found[K, V](cache: TTLCache[K, V], key: K) -> V | None:
    """`cache.get(key)` in one look-up.

    `get` asks `in` first, then looks the key up again, reading the clock each time (the hot
    path reads three or four caches per message).
    """
    try:
        return cache[key]
    except KeyError:  # absent or expired
        return None


@attrs.define
class InMemoryMembershipCache(MembershipCache):
    """Memberships and admin sets with time-to-live; members are kept longer than non-members."""

    clock: Clock
    member_ttl: timedelta = timedelta(minutes=30)
    non_member_ttl: timedelta = timedelta(minutes=1)
    admins_ttl: timedelta = timedelta(minutes=10)
    max_entries: int = 200_000
    _members: TTLCache[tuple[ChannelId, UserId], Membership] = attrs.field(init=False)
    _non_members: TTLCache[tuple[ChannelId, UserId], Membership] = attrs.field(init=False)
    _admins: TTLCache[GroupId, frozenset[UserId]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        timer, size = _timer(self.clock), self.max_entries
        self._members = TTLCache(size, self.member_ttl.total_seconds(), timer)
        self._non_members = TTLCache(size // 4, self.non_member_ttl.total_seconds(), timer)
        self._admins = TTLCache(size // 10, self.admins_ttl.total_seconds(), timer)

    async def membership(self, channel_id: ChannelId, user_id: UserId) -> Membership | None:
        key = (channel_id, user_id)
        found = _found(self._members, key) or _found(self._non_members, key)
        count_cache_lookup("membership", found is not None)
        return found

    async def store_membership(
        self, channel_id: ChannelId, user_id: UserId, membership: Membership
    ) -> None:
        await self.forget_membership(channel_id, user_id)
        target = self._members if membership.is_present else self._non_members
        target[(channel_id, user_id)] = membership

    async def forget_membership(self, channel_id: ChannelId, user_id: UserId) -> None:
        self._members.pop((channel_id, user_id), None)
        self._non_members.pop((channel_id, user_id), None)

    async def announce_membership(
        self, channel_id: ChannelId, user_id: UserId, membership: Membership
    ) -> None:
        await self.store_membership(channel_id, user_id, membership)

    async def admins(self, group_id: GroupId) -> frozenset[UserId] | None:
        found = _found(self._admins, group_id)
        count_cache_lookup("admins", found is not None)
        return found

    async def store_admins(self, group_id: GroupId, admins: frozenset[UserId]) -> None:
        self._admins[group_id] = admins

    async def forget_admins(self, group_id: GroupId) -> None:
        self._admins.pop(group_id, None)

    async def forget_all(self) -> None:
        self._members.clear()
        self._non_members.clear()
        self._admins.clear()


@attrs.define
class InMemoryGroupCache(GroupCache):
    """Group snapshots; the time-to-live only bounds staleness should an invalidation be missed."""

    clock: Clock
    ttl: timedelta = timedelta(minutes=5)
    max_entries: int = 100_000
    _snapshots: TTLCache[GroupId, GroupSnapshot] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._snapshots = TTLCache(self.max_entries, self.ttl.total_seconds(), _timer(self.clock))

    async def get(self, group_id: GroupId) -> GroupSnapshot | None:
        found = _found(self._snapshots, group_id)
        count_cache_lookup("group", found is not None)
        return found

    async def put(self, snapshot: GroupSnapshot) -> None:
        self._snapshots[snapshot.group_id] = snapshot

    async def forget(self, group_id: GroupId) -> None:
        self._snapshots.pop(group_id, None)

    async def forget_all(self) -> None:
        self._snapshots.clear()


@attrs.define
class InMemoryUsernameCache(UsernameCache):
    """Usernames recorded lately; the time-to-live lets a stale entry be written again."""

    clock: Clock
    ttl: timedelta = timedelta(hours=6)
    max_entries: int = 200_000
    _recorded: TTLCache[tuple[GroupId, UserId], str] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._recorded = TTLCache(self.max_entries, self.ttl.total_seconds(), _timer(self.clock))

    async def recorded(self, group_id: GroupId, user_id: UserId) -> str | None:
        found = _found(self._recorded, (group_id, user_id))
        count_cache_lookup("username", found is not None)
        return found

    async def store(self, group_id: GroupId, user_id: UserId, username: str) -> None:
        self._recorded[(group_id, user_id)] = username

    async def forget(self, group_id: GroupId, user_id: UserId) -> None:
        self._recorded.pop((group_id, user_id), None)
