"""In-process caches that keep the hot path free of Telegram calls and database round trips.

DESIGN §5: a message from an already-subscribed member costs no Telegram call and no database
round trip in steady state. The database and Telegram stay the sources of truth; these caches are
invalidated by the events that change what they hold.
"""

from abc import abstractmethod
from collections.abc import Collection
from typing import Protocol

import attrs

from domain.ids import ChannelId, GroupId, UserId
from domain.membership import Membership
from domain.policy import GroupPolicy
from domain.senders import Exemption, Sender, exemption_of


class MembershipCache(Protocol):
    """Recent answers from Telegram: a user's membership in a channel, a group's admins."""

    @abstractmethod
    async def membership(self, channel_id: ChannelId, user_id: UserId) -> Membership | None:
        """The cached membership, or `None` if unknown or expired."""

    @abstractmethod
    async def store_membership(
        self, channel_id: ChannelId, user_id: UserId, membership: Membership
    ) -> None:
        """Remember a membership Telegram reported (or a chat_member event announced)."""

    @abstractmethod
    async def forget_membership(self, channel_id: ChannelId, user_id: UserId) -> None:
        """Drop one cached membership. Idempotent."""

    @abstractmethod
    async def announce_membership(
        self, channel_id: ChannelId, user_id: UserId, membership: Membership
    ) -> None:
        """A chat_member event announced a new membership: cache it here, drop it elsewhere.

        With several processes, the others drop their entry (`Invalidations`); with one,
        this is `store_membership`.
        """

    @abstractmethod
    async def admins(self, group_id: GroupId) -> frozenset[UserId] | None:
        """The cached administrators of a group, or `None` if unknown or expired."""

    @abstractmethod
    async def store_admins(self, group_id: GroupId, admins: frozenset[UserId]) -> None:
        """Remember a group's administrators."""

    @abstractmethod
    async def forget_admins(self, group_id: GroupId) -> None:
        """Drop a group's cached administrators (someone was promoted or demoted). Idempotent."""

    @abstractmethod
    async def forget_all(self) -> None:
        """Drop every entry (changes may have been missed: see `Invalidations`)."""


@attrs.frozen
class GroupSnapshot:
    """What enforcement needs to know about a group, read in one transaction."""

    group_id: GroupId
    policy: GroupPolicy | None
    """`None` when the group was never set up."""
    exempt: frozenset[UserId] = frozenset()

    @property
    def is_protected(self) -> bool:
        """Rule 1."""
        return self.policy is not None and self.policy.is_protected

    @property
    def protected_policy(self) -> GroupPolicy | None:
        """The policy when the group is protected (rule 1), else `None`: nothing to enforce."""
        return self.policy if self.is_protected else None

    def exemption(
        self, sender: Sender, *, bot_id: UserId, admins: Collection[UserId]
    ) -> Exemption | None:
        """Rule 4 in this group: why `sender` is never restricted here, or `None`."""
        own_channels = self.policy.channel_ids if self.policy is not None else ()
        return exemption_of(
            sender,
            group_id=self.group_id,
            bot_id=bot_id,
            admins=admins,
            exempt_users=self.exempt,
            own_channels=own_channels,
        )


class GroupCache(Protocol):
    """Group policies and exemption lists, so enforcement does not read them per message."""

    @abstractmethod
    async def get(self, group_id: GroupId) -> GroupSnapshot | None:
        """The cached snapshot, or `None` if not cached."""

    @abstractmethod
    async def put(self, snapshot: GroupSnapshot) -> None:
        """Cache a snapshot read from the database."""

    @abstractmethod
    async def forget(self, group_id: GroupId) -> None:
        """Drop a group's snapshot after its policy or exemptions changed. Idempotent."""

    @abstractmethod
    async def forget_all(self) -> None:
        """Drop every snapshot (changes may have been missed: see `Invalidations`)."""


class UsernameCache(Protocol):
    """Usernames already recorded per group and member.

    A member seen again with the same username then costs no database round trip (DESIGN §5).
    """

    @abstractmethod
    async def recorded(self, group_id: GroupId, user_id: UserId) -> str | None:
        """The username last recorded for the member in the group, or `None` if not cached.

        "" stands for a member recorded without a username.
        """

    @abstractmethod
    async def store(self, group_id: GroupId, user_id: UserId, username: str) -> None:
        """Remember that the member's username is recorded (or being recorded)."""

    @abstractmethod
    async def forget(self, group_id: GroupId, user_id: UserId) -> None:
        """Drop the member's entry (its write failed). Idempotent."""
