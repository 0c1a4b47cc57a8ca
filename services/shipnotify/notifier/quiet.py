"""Quiet hours: no SMS at night in the contact's own time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Window = tuple[time, time]


def parse_window(text: str) -> Window | None:
    """ "21:00-08:00" -> (21:00, 08:00); "" -> None (no quiet hours)."""
    if not text.strip():
        return None
    start, _, end = text.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"quiet hours {text!r} are not HH:MM-HH:MM") from None


def quiet_until(now: datetime, time_zone: str, window: Window | None) -> datetime | None:
    """When the quiet hours around `now` (aware) end for this zone, or None if not quiet."""
    if window is None:
        return None
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    start, end = window
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)
