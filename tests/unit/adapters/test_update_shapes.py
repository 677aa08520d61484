"""The webhook intake's structural check of updates, and the throttle of refusal log lines."""

from typing import Any

import pytest

from adapters.http.app import ThrottledLog
from adapters.intake import InvalidUpdate
from adapters.telegram.updates import ALLOWED_UPDATES
from adapters.telegram.webhook import SHAPES, USER, Each, kind_of, problem

CHAT = {"id": -100, "type": "supergroup"}
CAROL = {"id": 1003, "is_bot": False, "first_name": "Carol"}


def test_every_requested_kind_has_a_shape_and_no_other_does() -> None:
    assert set(SHAPES) == set(ALLOWED_UPDATES)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (CAROL, None),
        ({**CAROL, "username": 5}, None),  # fields not in the shape are not looked at
        ({**CAROL, "id": 2**63 - 1}, None),
        ({**CAROL, "id": -(2**63)}, None),
        ({**CAROL, "id": 2**63}, "user.id is not a 64-bit integer"),
        ({**CAROL, "id": True}, "user.id is not a 64-bit integer"),
        ({**CAROL, "id": 3.0}, "user.id is not a 64-bit integer"),
        ({**CAROL, "is_bot": 0}, "user.is_bot is not a bool"),
        ({"id": 1, "is_bot": False}, "user.first_name is missing"),
        ([CAROL], "user is not an object"),
    ],
)
def test_a_user_is_checked_field_by_field(value: object, found: str | None) -> None:
    assert problem(value, USER, "user") == found


def test_an_array_names_the_first_item_that_does_not_match() -> None:
    assert problem([CAROL, {**CAROL, "id": "x"}], Each(USER), "members") == (
        "members[1].id is not a 64-bit integer"
    )
    assert problem({}, Each(USER), "members") == "members is not an array"


@pytest.mark.parametrize(
    ("update", "kind"),
    [
        ({"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": CHAT}}, "message"),
        ({"update_id": 2, "channel_post": {"anything": "at all"}}, "channel_post"),
        ({"update_id": 3, "a_kind_from_the_future": {}}, "a_kind_from_the_future"),
    ],
)
def test_the_kind_of_a_valid_update(update: dict[str, Any], kind: str) -> None:
    assert kind_of(update) == kind


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        ({"message": {}}, "update_id is not a 64-bit integer"),
        ({"update_id": 1}, "0 kinds of update in one"),
        ({"update_id": 1, "message": {}, "poll": {}}, "2 kinds of update in one"),
        ({"update_id": 1, "poll": []}, "poll is not an object"),
        ({"update_id": 1, "message": {"message_id": 1, "date": 0}}, "message.chat is missing"),
        (
            {
                "update_id": 1,
                "chat_member": {
                    "chat": CHAT,
                    "from": CAROL,
                    "date": 0,
                    "old_chat_member": {"user": CAROL, "status": "left"},
                    "new_chat_member": {"user": CAROL, "status": {"a": 1}},
                },
            },
            "chat_member.new_chat_member.status is not known",
        ),
    ],
)
def test_an_invalid_update_is_refused_with_where(update: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidUpdate, match=reason.replace("[", r"\[")):
        kind_of(update)


def test_refusals_are_logged_once_per_kind_and_interval_with_the_number_left_out() -> None:
    now = [0.0]
    throttle = ThrottledLog(10.0, timer=lambda: now[0])

    first = [throttle.admit("malformed"), throttle.admit("malformed"), throttle.admit("invalid")]
    now[0] = 9.9
    silent = throttle.admit("malformed")
    now[0] = 10.0
    again = throttle.admit("malformed")
    now[0] = 30.0
    quiet = throttle.admit("malformed")

    assert first == [0, None, 0]  # each kind's first event is logged
    assert silent is None
    assert again == 2  # the two left out since the last line
    assert quiet == 0
