"""Contracts of the cache ports and the throttle.

Subclasses provide a `clock` fixture (a `FrozenClock` they can advance) and the adapter under test
built on it: `membership_cache`, `group_cache` or `throttle`.
"""

from datetime import timedelta

from adapters.memory.clock import FrozenClock
from application.ports.caches import GroupCache, GroupSnapshot, MembershipCache
from application.ports.throttle import Throttle
from domain.membership import Membership, MemberStatus
from tests.factories import make_policy, new_channel, new_group, new_user

MEMBER = Membership(MemberStatus.MEMBER)
LEFT = Membership(MemberStatus.LEFT)


class MembershipCacheContract:
    """Memberships and admin sets are kept for a while and dropped on request."""

    async def test_store_and_read_back(self, membership_cache: MembershipCache) -> None:
        channel, user, group = new_channel(), new_user(), new_group()
        assert await membership_cache.membership(channel, user) is None
        await membership_cache.store_membership(channel, user, MEMBER)
        await membership_cache.store_admins(group, frozenset({user}))
        assert await membership_cache.membership(channel, user) == MEMBER
        assert await membership_cache.admins(group) == frozenset({user})

    async def test_a_newer_answer_replaces_the_older(
        self, membership_cache: MembershipCache
    ) -> None:
        channel, user = new_channel(), new_user()
        await membership_cache.store_membership(channel, user, MEMBER)
        await membership_cache.store_membership(channel, user, LEFT)
        assert await membership_cache.membership(channel, user) == LEFT

    async def test_forgetting(self, membership_cache: MembershipCache) -> None:
        channel, user, group = new_channel(), new_user(), new_group()
        await membership_cache.store_membership(channel, user, MEMBER)
        await membership_cache.store_admins(group, frozenset({user}))
        await membership_cache.forget_membership(channel, user)
        await membership_cache.forget_admins(group)
        await membership_cache.forget_admins(group)
        assert await membership_cache.membership(channel, user) is None
        assert await membership_cache.admins(group) is None

    async def test_entries_expire_non_members_sooner(
        self, membership_cache: MembershipCache, clock: FrozenClock
    ) -> None:
        channel, member, stranger = new_channel(), new_user(), new_user()
        await membership_cache.store_membership(channel, member, MEMBER)
        await membership_cache.store_membership(channel, stranger, LEFT)
        clock.advance(timedelta(minutes=2))
        assert await membership_cache.membership(channel, stranger) is None
        assert await membership_cache.membership(channel, member) == MEMBER
        clock.advance(timedelta(days=1))
        assert await membership_cache.membership(channel, member) is None

    async def test_an_announced_membership_is_cached_and_forget_all_drops_everything(
        self, membership_cache: MembershipCache
    ) -> None:
        channel, user, group = new_channel(), new_user(), new_group()
        await membership_cache.announce_membership(channel, user, LEFT)
        await membership_cache.store_admins(group, frozenset({user}))
        assert await membership_cache.membership(channel, user) == LEFT
        await membership_cache.forget_all()
        assert await membership_cache.membership(channel, user) is None
        assert await membership_cache.admins(group) is None


class GroupCacheContract:
    """Snapshots are kept until forgotten (or stale)."""

    async def test_put_get_forget(self, group_cache: GroupCache) -> None:
        group = new_group()
        snapshot = GroupSnapshot(group, make_policy(group), frozenset({new_user()}))
        assert await group_cache.get(group) is None
        await group_cache.put(snapshot)
        assert await group_cache.get(group) == snapshot
        await group_cache.forget(group)
        await group_cache.forget(group)
        assert await group_cache.get(group) is None

    async def test_forget_all(self, group_cache: GroupCache) -> None:
        group = new_group()
        await group_cache.put(GroupSnapshot(group, None))
        await group_cache.forget_all()
        assert await group_cache.get(group) is None

    async def test_snapshots_go_stale(self, group_cache: GroupCache, clock: FrozenClock) -> None:
        group = new_group()
        await group_cache.put(GroupSnapshot(group, None))
        clock.advance(timedelta(hours=1))
        assert await group_cache.get(group) is None


class ThrottleContract:
    """One use per key per cooldown."""

    async def test_one_use_per_cooldown_per_key(
        self, throttle: Throttle, clock: FrozenClock
    ) -> None:
        cooldown = timedelta(seconds=5)
        assert await throttle.allow("a", cooldown)
        assert not await throttle.allow("a", cooldown)
        assert await throttle.allow("b", cooldown)
        clock.advance(timedelta(seconds=4))
        assert not await throttle.allow("a", cooldown)  # a refusal does not extend it
        clock.advance(timedelta(seconds=1))
        assert await throttle.allow("a", cooldown)
