"""Rule 2, the subscription rule, and the verdict over several channels."""

import pytest

from domain.ids import ChannelId
from domain.membership import (
    CheckOutcome,
    Membership,
    MemberStatus,
    Verdict,
    is_subscribed,
    judge,
    outcome_of,
)

A, B, C = ChannelId(-1001), ChannelId(-1002), ChannelId(-1003)


@pytest.mark.parametrize(
    ("membership", "subscribed"),
    [
        (Membership(MemberStatus.CREATOR), True),
        (Membership(MemberStatus.ADMINISTRATOR), True),
        (Membership(MemberStatus.MEMBER), True),
        (Membership(MemberStatus.RESTRICTED, is_member=True), True),
        (Membership(MemberStatus.RESTRICTED, is_member=False), False),
        (Membership(MemberStatus.LEFT), False),
        (Membership(MemberStatus.KICKED), False),
        # is_member only matters for restricted users
        (Membership(MemberStatus.LEFT, is_member=True), False),
    ],
)
def test_rule_2_subscribed_statuses(membership: Membership, subscribed: bool) -> None:
    assert is_subscribed(membership) is subscribed


def test_admin_statuses() -> None:
    assert Membership(MemberStatus.CREATOR).is_admin
    assert Membership(MemberStatus.ADMINISTRATOR).is_admin
    assert not Membership(MemberStatus.MEMBER).is_admin


def test_outcome_of_no_answer_is_unknown() -> None:
    assert outcome_of(None) is CheckOutcome.UNKNOWN
    assert outcome_of(Membership(MemberStatus.MEMBER)) is CheckOutcome.SUBSCRIBED
    assert outcome_of(Membership(MemberStatus.LEFT)) is CheckOutcome.NOT_SUBSCRIBED


def test_verdict_lists_every_missing_channel_in_the_groups_order() -> None:
    verdict = judge(
        (A, B, C),
        {
            A: CheckOutcome.NOT_SUBSCRIBED,
            B: CheckOutcome.SUBSCRIBED,
            C: CheckOutcome.NOT_SUBSCRIBED,
        },
    )
    assert verdict == Verdict(missing=(A, C))
    assert not verdict.subscribed


def test_verdict_subscribed_only_when_every_channel_is_joined() -> None:
    assert judge((A, B), {A: CheckOutcome.SUBSCRIBED, B: CheckOutcome.SUBSCRIBED}).subscribed


def test_a_channel_without_an_outcome_is_unknown_never_subscribed() -> None:
    verdict = judge((A, B), {A: CheckOutcome.SUBSCRIBED})
    assert verdict == Verdict(unknown=(B,))
    assert not verdict.subscribed
