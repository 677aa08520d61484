"""Membership in a channel: the subscription rule and the verdict over every required channel."""

import enum
from collections.abc import Iterable, Mapping

import attrs

from domain.ids import ChannelId


class MemberStatus(enum.StrEnum):
    """A user's status in a chat, as Telegram reports it."""

    CREATOR = "creator"
    ADMINISTRATOR = "administrator"
    MEMBER = "member"
    RESTRICTED = "restricted"
    LEFT = "left"
    KICKED = "kicked"


@attrs.frozen
class Membership:
    """A user's standing in one chat.

    `is_member` only matters for `RESTRICTED`: Telegram keeps restricted users who are (or are not)
    currently in the chat under the same status and tells them apart with this flag.
    """

    status: MemberStatus
    is_member: bool = False

    @property
    def is_admin(self) -> bool:
        """The creator or an administrator of the chat."""
        return self.status in (MemberStatus.CREATOR, MemberStatus.ADMINISTRATOR)

    @property
    def is_present(self) -> bool:
        """In the chat right now, whatever their rights (the subscription rule, rule 2)."""
        if self.status is MemberStatus.RESTRICTED:
            return self.is_member
        return self.status in (
            MemberStatus.CREATOR,
            MemberStatus.ADMINISTRATOR,
            MemberStatus.MEMBER,
        )


def is_subscribed(membership: Membership) -> bool:
    """Rule 2: creator, administrator, member, or restricted while still a member."""
    return membership.is_present


class CheckOutcome(enum.StrEnum):
    """What a membership check of one channel established."""

    SUBSCRIBED = "subscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    UNKNOWN = "unknown"
    """Telegram could not answer (lost rights, network error, rate limit past its budget)."""


@attrs.frozen
class Verdict:
    """The outcome of checking one user against every channel a group requires."""

    missing: tuple[ChannelId, ...] = ()
    """Channels the user is known not to have joined, in the group's order."""
    unknown: tuple[ChannelId, ...] = ()
    """Channels whose membership could not be established."""

    @property
    def subscribed(self) -> bool:
        """Known to be subscribed to every required channel."""
        return not self.missing and not self.unknown


def outcome_of(membership: Membership | None) -> CheckOutcome:
    """The check outcome for one channel; `None` means Telegram could not answer."""
    if membership is None:
        return CheckOutcome.UNKNOWN
    return CheckOutcome.SUBSCRIBED if is_subscribed(membership) else CheckOutcome.NOT_SUBSCRIBED


def judge(required: Iterable[ChannelId], outcomes: Mapping[ChannelId, CheckOutcome]) -> Verdict:
    """Combine the outcomes of every required channel into one verdict.

    A required channel with no outcome at all counts as unknown, never as subscribed.
    """
    missing: list[ChannelId] = []
    unknown: list[ChannelId] = []
    for channel in required:
        outcome = outcomes.get(channel, CheckOutcome.UNKNOWN)
        if outcome is CheckOutcome.NOT_SUBSCRIBED:
            missing.append(channel)
        elif outcome is CheckOutcome.UNKNOWN:
            unknown.append(channel)
    return Verdict(missing=tuple(missing), unknown=tuple(unknown))
