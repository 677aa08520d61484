"""The in-process caches, kept coherent across the bot's processes (issue 15).

Several `nezuko run` workers behind a load balancer each keep their own caches (DESIGN §5: the
hot path reads them, not the database). What one worker changes (a channel left or joined, an
admin promoted, settings, `/unprotect`, an exemption, a raid) it drops from its own caches at
once, as before, and tells the others through `Invalidations`; they drop the same entry when
told (`CacheInvalidation.apply`), or everything when they may have missed something
(`CacheInvalidation.forget_everything`).
"""

from typing import override

import attrs

from application.ports.caches import GroupCache, GroupSnapshot, MembershipCache
from application.ports.invalidations import Cached, Invalidation, Invalidations
from application.raids import Raids
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import Membership


@attrs.frozen
class SharedMembershipCache(MembershipCache):
    """`local`, telling the other processes what it forgets or what an event announced."""

    local: MembershipCache
    invalidations: Invalidations

    @override
    async def membership(self, channel_id: ChannelId, user_id: UserId) -> Membership | None:
        return await self.local.membership(channel_id, user_id)

    @override
    async def store_membership(
        self, channel_id: ChannelId, user_id: UserId, membership: Membership
    ) -> None:
        await self.local.store_membership(channel_id, user_id, membership)

    @override
    async def forget_membership(self, channel_id: ChannelId, user_id: UserId) -> None:
        await self.local.forget_membership(channel_id, user_id)
        await self.invalidations.publish(_membership(channel_id, user_id))

    @override
    async def announce_membership(
        self, channel_id: ChannelId, user_id: UserId, membership: Membership
    ) -> None:
        await self.local.store_membership(channel_id, user_id, membership)
        await self.invalidations.publish(_membership(channel_id, user_id))

    @override
    async def admins(self, group_id: GroupId) -> frozenset[UserId] | None:
        return await self.local.admins(group_id)

    @override
    async def store_admins(self, group_id: GroupId, admins: frozenset[UserId]) -> None:
        await self.local.store_admins(group_id, admins)

    @override
    async def forget_admins(self, group_id: GroupId) -> None:
        await self.local.forget_admins(group_id)
        await self.invalidations.publish(Invalidation(Cached.ADMINS, group_id=group_id))

    @override
    async def forget_all(self) -> None:
        await self.local.forget_all()


@attrs.frozen
class SharedGroupCache(GroupCache):
    """`local`, telling the other processes which group snapshot it forgets."""

    local: GroupCache
    invalidations: Invalidations

    @override
    async def get(self, group_id: GroupId) -> GroupSnapshot | None:
        return await self.local.get(group_id)

    @override
    async def put(self, snapshot: GroupSnapshot) -> None:
        await self.local.put(snapshot)

    @override
    async def forget(self, group_id: GroupId) -> None:
        await self.local.forget(group_id)
        await self.invalidations.publish(Invalidation(Cached.GROUP, group_id=group_id))

    @override
    async def forget_all(self) -> None:
        await self.local.forget_all()


@attrs.frozen
class CacheInvalidation:
    """Applies what another process published to this process's own caches.

    It holds the local caches (not the shared ones): what it drops, it tells nobody.
    """

    memberships: MembershipCache
    groups: GroupCache
    raids: Raids | None = None
    """Told of the joins the other processes counted (`Cached.JOIN_RATE`)."""

    async def apply(self, invalidation: Invalidation) -> None:
        """Drop the entry another process changed (told nobody else: it told them already)."""
        group, channel, user = (
            invalidation.group_id,
            invalidation.channel_id,
            invalidation.user_id,
        )
        if invalidation.cached is Cached.GROUP and group is not None:
            await self.groups.forget(group)
        elif invalidation.cached is Cached.ADMINS and group is not None:
            await self.memberships.forget_admins(group)
        elif invalidation.cached is Cached.MEMBERSHIP and channel is not None and user is not None:
            await self.memberships.forget_membership(channel, user)
        elif invalidation.cached is Cached.JOIN_RATE and group is not None:
            if self.raids is not None:
                self.raids.heard_join(group)
        else:  # malformed: drop everything rather than keep something stale
            await self.forget_everything()

    async def forget_everything(self) -> None:
        """Drop every cached entry: notifications may have been missed."""
        await self.memberships.forget_all()
        await self.groups.forget_all()


def _membership(channel_id: ChannelId, user_id: UserId) -> Invalidation:
    return Invalidation(Cached.MEMBERSHIP, channel_id=channel_id, user_id=user_id)
