"""Scheduled actions: backoff, and Telegram's own wait when it names one (rule 11)."""

from datetime import timedelta

from domain.schedule import RETRY_CAP, retry_delay, retry_wait, worth_reporting


def test_backoff_doubles_from_10_s_and_stops_at_10_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in range(8)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        600,
        600,
    ]


def test_telegrams_retry_after_is_waited_exactly_whatever_the_attempts() -> None:
    assert retry_wait(0, 90.0) == timedelta(seconds=90)
    assert retry_wait(5, 1.5) == timedelta(seconds=1.5)
    assert retry_wait(2) == retry_delay(2)


def test_rule_11_an_action_may_fail_for_ever_and_the_backoff_stays_capped() -> None:
    assert retry_delay(10_000) == RETRY_CAP == timedelta(minutes=10)


def test_failures_worth_a_log_line_grow_ever_rarer() -> None:
    assert [n for n in range(1, 1100) if worth_reporting(n)] == [2**n for n in range(11)]
    assert not worth_reporting(0)
