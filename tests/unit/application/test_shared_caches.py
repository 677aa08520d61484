"""Issue 15: what one worker changes, the others' caches drop (`application.shared_caches`)."""

from adapters.memory.caches import InMemoryGroupCache, InMemoryMembershipCache
from adapters.memory.clock import FrozenClock
from adapters.memory.invalidations import InMemoryInvalidations
from application.ports.caches import GroupSnapshot
from application.ports.invalidations import Cached, Invalidation
from application.shared_caches import CacheInvalidation, SharedGroupCache, SharedMembershipCache
from application.use_cases.channel_member_changed import ChannelMemberUpdate
from domain.membership import Membership, MemberStatus
from domain.senders import Person
from tests.unit.world import ALICE, GROUP, NEWS, OWNER, World

MEMBER = Membership(MemberStatus.MEMBER)
LEFT = Membership(MemberStatus.LEFT)


def _worker(
    invalidations: InMemoryInvalidations,
) -> tuple[SharedMembershipCache, SharedGroupCache, CacheInvalidation]:
    clock = FrozenClock()
    memberships, groups = InMemoryMembershipCache(clock), InMemoryGroupCache(clock)
    return (
        SharedMembershipCache(memberships, invalidations),
        SharedGroupCache(groups, invalidations),
        CacheInvalidation(memberships, groups),
    )


async def test_what_one_worker_forgets_another_drops_when_told() -> None:
    told = InMemoryInvalidations()
    memberships, groups, _ = _worker(told)
    other_memberships, other_groups, other = _worker(InMemoryInvalidations())
    await other_memberships.store_membership(NEWS, ALICE, MEMBER)
    await other_memberships.store_admins(GROUP, frozenset({OWNER}))
    await other_groups.put(GroupSnapshot(GROUP, None))

    await memberships.announce_membership(NEWS, ALICE, LEFT)
    await memberships.forget_admins(GROUP)
    await groups.forget(GROUP)
    for invalidation in told.published:
        await other.apply(invalidation)

    assert await memberships.membership(NEWS, ALICE) == LEFT  # its own: what the event said
    assert await other_memberships.membership(NEWS, ALICE) is None
    assert await other_memberships.admins(GROUP) is None
    assert await other_groups.get(GROUP) is None
    assert told.published == [
        Invalidation(Cached.MEMBERSHIP, channel_id=NEWS, user_id=ALICE),
        Invalidation(Cached.ADMINS, group_id=GROUP),
        Invalidation(Cached.GROUP, group_id=GROUP),
    ]


async def test_reads_and_fills_tell_nobody() -> None:
    told = InMemoryInvalidations()
    memberships, groups, _ = _worker(told)
    await memberships.store_membership(NEWS, ALICE, MEMBER)
    await memberships.store_admins(GROUP, frozenset({OWNER}))
    await groups.put(GroupSnapshot(GROUP, None))
    assert await memberships.membership(NEWS, ALICE) == MEMBER
    assert await memberships.admins(GROUP) == frozenset({OWNER})
    assert await groups.get(GROUP) == GroupSnapshot(GROUP, None)
    assert told.published == []


async def test_a_malformed_invalidation_or_a_gap_drops_everything() -> None:
    memberships, groups, invalidation = _worker(InMemoryInvalidations())
    await memberships.store_membership(NEWS, ALICE, MEMBER)
    await groups.put(GroupSnapshot(GROUP, None))
    await invalidation.apply(Invalidation(Cached.MEMBERSHIP, channel_id=NEWS))  # no user
    assert await memberships.membership(NEWS, ALICE) is None
    assert await groups.get(GROUP) is None
    await memberships.store_admins(GROUP, frozenset({OWNER}))
    await invalidation.forget_everything()
    assert await memberships.admins(GROUP) is None


async def test_a_channel_leave_is_told_to_the_other_workers() -> None:
    world = World()
    await world.protect()
    world.invalidations.published.clear()
    update = ChannelMemberUpdate(NEWS, Person(ALICE, "Alice"), MEMBER, LEFT)
    await world.container.channel_member_changed().execute(update)
    assert world.invalidations.published == [
        Invalidation(Cached.MEMBERSHIP, channel_id=NEWS, user_id=ALICE)
    ]
