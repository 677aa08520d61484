"""Raid values (rule 13): the join rate's window, when a raid is over, `/raid on`'s durations."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidSetting
from domain.policy import GroupSettings
from domain.raid import MANUAL_DEFAULT, QUIET_PERIOD, JoinRate, Raid, raid_duration

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_the_join_rate_counts_the_last_minute_only() -> None:
    rate = JoinRate()
    counts = [rate.count(T0 + timedelta(seconds=10 * n)) for n in range(8)]
    assert counts == [1, 2, 3, 4, 5, 6, 6, 6]  # a join 60 s old has left the window
    assert rate.current(T0 + timedelta(minutes=5)) == 0


def test_an_automatic_raid_is_over_after_the_quiet_period_since_the_last_busy_moment() -> None:
    raid = Raid(T0, T0)
    assert not raid.over(T0 + QUIET_PERIOD - timedelta(seconds=1), None, QUIET_PERIOD)
    assert raid.over(T0 + QUIET_PERIOD, None, QUIET_PERIOD)
    busy_later = T0 + timedelta(minutes=5)
    assert not raid.over(T0 + QUIET_PERIOD, busy_later, QUIET_PERIOD)  # seen in memory
    assert raid.busy(busy_later).busy_at == busy_later
    assert raid.busy(T0 - timedelta(1)) is raid


def test_a_raid_an_admin_started_ends_at_its_time_whatever_the_rate() -> None:
    raid = Raid(T0, T0, until=T0 + timedelta(hours=2))
    assert not raid.over(T0 + timedelta(hours=1), None, QUIET_PERIOD)
    assert raid.over(T0 + timedelta(hours=2), None, QUIET_PERIOD)
    assert raid.active
    assert not raid.ended(T0).active


def test_raid_on_takes_a_duration_within_bounds() -> None:
    assert raid_duration(None) == MANUAL_DEFAULT
    assert raid_duration("30m") == timedelta(minutes=30)
    for wrong in ("5s", "8d", "soon"):
        with pytest.raises(InvalidSetting):
            raid_duration(wrong)


def test_raid_threshold_is_a_number_of_joins_or_off() -> None:
    settings = GroupSettings()
    assert settings.changed("raid_threshold", "50").raid_threshold == 50
    assert settings.changed("raid_threshold", "off").raid_threshold is None
    assert settings.changed("raid_threshold", "off").shown()["raid_threshold"] == "off"
    for wrong in ("1", "many", "-5", "100000"):
        with pytest.raises(InvalidSetting):
            settings.changed("raid_threshold", wrong)
