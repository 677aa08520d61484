"""Rule 4 (who is never restricted) and rule 8 (the failure policy)."""

import pytest

from domain.decision import Decision, decide
from domain.ids import (
    ANONYMOUS_ADMIN_BOT,
    CHANNEL_BOT,
    SERVICE_NOTIFICATIONS,
    ChannelId,
    GroupId,
    UserId,
)
from domain.membership import Verdict
from domain.policy import FailurePolicy
from domain.senders import Exemption, Sender, exemption_of, is_foreign_chat_post

GROUP = GroupId(-100500)
CHANNEL = ChannelId(-1009)
BOT, ADMIN, EXEMPT, USER = UserId(1), UserId(2), UserId(3), UserId(4)


def exemption(sender: Sender) -> Exemption | None:
    return exemption_of(
        sender,
        group_id=GROUP,
        bot_id=BOT,
        admins={ADMIN},
        exempt_users={EXEMPT},
        own_channels={CHANNEL},
    )


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        (Sender(BOT, is_bot=True), Exemption.THE_BOT),
        (Sender(ADMIN), Exemption.ADMIN),
        (
            Sender(ANONYMOUS_ADMIN_BOT, is_bot=True, sender_chat_id=GROUP),
            Exemption.ANONYMOUS_ADMIN,
        ),
        (Sender(ANONYMOUS_ADMIN_BOT, is_bot=True), Exemption.ANONYMOUS_ADMIN),
        (
            Sender(SERVICE_NOTIFICATIONS, sender_chat_id=-100777, is_automatic_forward=True),
            Exemption.LINKED_CHANNEL,
        ),
        (Sender(CHANNEL_BOT, is_bot=True, sender_chat_id=CHANNEL), Exemption.OWN_CHANNEL),
        (Sender(EXEMPT), Exemption.EXEMPT_LIST),
        (Sender(UserId(99), is_bot=True), Exemption.OTHER_BOT),
        (Sender(USER), None),
        # 777000 without the automatic-forward flag is not the linked channel
        (Sender(SERVICE_NOTIFICATIONS), None),
    ],
)
def test_rule_4_never_restricted(sender: Sender, expected: Exemption | None) -> None:
    assert exemption(sender) is expected


def test_a_post_on_behalf_of_a_foreign_channel_is_not_exempt_and_is_foreign() -> None:
    sender = Sender(CHANNEL_BOT, is_bot=True, sender_chat_id=-100123)
    assert exemption(sender) is None
    assert is_foreign_chat_post(sender)
    assert not is_foreign_chat_post(Sender(USER))


A, B = ChannelId(-1), ChannelId(-2)


def test_rule_8_open_policy_lets_unanswered_checks_through() -> None:
    decision = decide(Verdict(unknown=(A,)), FailurePolicy.OPEN)
    assert decision == Decision(restrict_for=(), unanswered=(A,))
    assert not decision.restrict


def test_rule_8_closed_policy_treats_unanswered_as_not_subscribed() -> None:
    decision = decide(Verdict(missing=(B,), unknown=(A,)), FailurePolicy.CLOSED)
    assert decision.restrict_for == (B, A)
    assert decision.restrict


def test_known_missing_channels_restrict_under_either_policy() -> None:
    for policy in FailurePolicy:
        assert decide(Verdict(missing=(A,)), policy).restrict_for == (A,)
