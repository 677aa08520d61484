"""Scheduled actions: backoff, and Telegram's own wait when it names one (rule 11)."""

from datetime import timedelta

from domain.schedule import retry_delay, retry_wait


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
