"""Durations as group admins type them ("90", "45s", "5m", "2h", "1d") and as shown back."""

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta | None:
    """The duration written in `text`, or `None` if it is not one. A bare number means seconds."""
    match = _PATTERN.match(text)
    if match is None:
        return None
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[(unit or "s").lower()])


def format_duration(duration: timedelta) -> str:
    """A compact form such as `1h30m`; whole seconds only."""
    seconds = int(duration.total_seconds())
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
