"""Quiet hours: no SMS at night in the contact's own time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Window = tuple[time, time]


def parse_window(text: str) -> Window | None:
    """ "21:00-08:00" -> (21:00, 08:00); "" -> None (no quiet hours). The settings check
    SHIPNOTIFY_QUIET_HOURS with this at start-up."""
    if not text.strip():
        return None
    start, _, end = text.partition("-")
    try:
        # HH:MM only: ISO forms such as "21:00+02:00" would give times no clock compares to
        return _clock(start), _clock(end)
    except ValueError:
        raise ValueError("should be HH:MM-HH:MM on a 24-hour clock, or empty for none") from None


def _clock(text: str) -> time:
    return datetime.strptime(text.strip(), "%H:%M").time()


def zone_of(time_zone: str) -> ZoneInfo:
    """A contact's time zone; UTC for none or one this machine does not know."""
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, time_zone: str, window: Window | None) -> datetime | None:
    """When the quiet hours around `now` (aware) end for this zone, or None if not quiet."""
    if window is None:
        return None
    zone = zone_of(time_zone)
    local = now.astimezone(zone)
    start, end = window
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)
