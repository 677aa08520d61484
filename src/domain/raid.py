"""Raids (rule 13): above a join rate, newcomers are muted silently under one edited notice."""

from collections import deque
from datetime import datetime, timedelta

import attrs

from domain.durations import format_duration, parse_duration
from domain.errors import InvalidSetting, SettingProblem
from domain.ids import MessageId, UserId

RATE_WINDOW = timedelta(minutes=1)
"""`raid_threshold` counts the joins of non-subscribers in this long."""
QUIET_PERIOD = timedelta(minutes=10)
"""An automatic raid ends once the join rate has stayed under the threshold this long."""
MANUAL_DEFAULT = timedelta(hours=1)
"""How long `/raid on` without a duration lasts (unless `/raid off` comes first)."""
MANUAL_RANGE = (timedelta(seconds=10), timedelta(days=7))
"""The durations `/raid on` accepts."""
THRESHOLD_RANGE = (2, 10_000)
"""The join rates `raid_threshold` accepts (joins a minute)."""
DEFAULT_THRESHOLD = 20


@attrs.frozen
class Raid:
    """A raid going on in a group, or one that ended and whose notice is being closed.

    Stored with the group (rule 10), so a restart loses nothing of it.
    """

    started_at: datetime
    busy_at: datetime
    """The last time the join rate was at or above the threshold (the start, at first)."""
    until: datetime | None = None
    """Set for a raid an admin started with `/raid on`: it ends then (or at `/raid off`);
    `None` for an automatic raid, which ends after the quiet period."""
    by: UserId | None = None
    """The admin who started it; `None` when the join rate did."""
    ended_at: datetime | None = None
    """Set once it ended: the notice still has to say so, then the raid is forgotten."""
    notice_id: MessageId | None = None
    """The group's one raid notice, once posted."""
    shown: int | None = None
    """The number of muted members the notice shows."""

    @property
    def active(self) -> bool:
        """Newcomers are muted silently."""
        return self.ended_at is None

    def over(self, now: datetime, busy_at: datetime | None, quiet: timedelta) -> bool:
        """Whether the raid is over at `now`: its end time passed, or the quiet period did.

        `busy_at` is the last busy moment seen in process memory, if newer than the stored one.
        """
        if self.until is not None:
            return now >= self.until
        last_busy = max(self.busy_at, busy_at) if busy_at is not None else self.busy_at
        return now - last_busy >= quiet

    def busy(self, at: datetime | None) -> "Raid":
        """The raid with the join rate seen at or above the threshold at `at`."""
        if at is None or at <= self.busy_at:
            return self
        return attrs.evolve(self, busy_at=at)

    def ended(self, now: datetime) -> "Raid":
        """The raid over at `now`; its notice is closed next."""
        return attrs.evolve(self, ended_at=now)

    def noticed(self, notice_id: MessageId | None, shown: int | None) -> "Raid":
        """The raid with its notice posted (or gone: `None`) showing `shown` muted members."""
        return attrs.evolve(self, notice_id=notice_id, shown=shown)

    def taken_over(self, by: UserId, until: datetime) -> "Raid":
        """An admin's `/raid on` during a raid: it now ends at `until`."""
        return attrs.evolve(self, by=by, until=until)


def raid_duration(text: str | None) -> timedelta:
    """The duration `/raid on` was given (`MANUAL_DEFAULT` without one).

    Raises:
        InvalidSetting: not a duration in `MANUAL_RANGE`.
    """
    if text is None:
        return MANUAL_DEFAULT
    duration = parse_duration(text)
    low, high = MANUAL_RANGE
    if duration is None or not low <= duration <= high:
        raise InvalidSetting(
            "raid",
            text,
            SettingProblem.DURATION_BETWEEN,
            low=format_duration(low),
            high=format_duration(high),
        )
    return duration


@attrs.define
class JoinRate:
    """Joins of non-subscribers in the last `RATE_WINDOW`, counted in process memory.

    Time is passed in. A restart forgets it: the rate starts again from nothing, which only
    delays an automatic start by the joins it takes to reach the threshold again.
    """

    _joins: deque[datetime] = attrs.field(factory=deque[datetime])

    def count(self, at: datetime) -> int:
        """Count one join at `at`; the joins within the window up to it."""
        self._joins.append(at)
        return self.current(at)

    def current(self, at: datetime) -> int:
        """The joins within the window up to `at`."""
        start = at - RATE_WINDOW
        while self._joins and self._joins[0] <= start:
            self._joins.popleft()
        return len(self._joins)
