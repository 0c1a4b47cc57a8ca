from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from shipnotify.model.quiet import parse_window, quiet_until
from shipnotify.notifier.breaker import Breaker

NIGHT = parse_window("21:00-08:00")


def test_parse_window() -> None:
    assert (time(21), time(8)) == NIGHT
    assert parse_window("") is None
    for bad in ("late", "25:00-08:00", "21:00", "21:00+02:00-08:00", "2100-0800"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_window(bad)  # an offset would give times that no clock compares to


def test_quiet_at_night_in_the_contacts_zone_until_the_morning() -> None:
    # 19:30 UTC is 22:30 in Chisinau (UTC+2 in November): quiet until 08:00 local
    until = quiet_until(datetime(2026, 11, 23, 20, 30, tzinfo=UTC), "Europe/Chisinau", NIGHT)
    assert until is not None
    assert until.astimezone(UTC) == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def test_after_midnight_the_morning_is_the_same_day() -> None:
    until = quiet_until(datetime(2026, 11, 23, 3, 0, tzinfo=UTC), "UTC", NIGHT)
    assert until == datetime(2026, 11, 23, 8, 0, tzinfo=until.tzinfo if until else None)


def test_daytime_is_not_quiet_and_zones_matter() -> None:
    noon_utc = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert quiet_until(noon_utc, "Europe/Bucharest", NIGHT) is None
    assert quiet_until(noon_utc, "Pacific/Auckland", NIGHT) is not None  # 01:00 there
    assert quiet_until(noon_utc, "Pacific/Auckland", None) is None


def test_window_within_a_day() -> None:
    window = parse_window("12:00-14:00")
    assert quiet_until(datetime(2026, 1, 1, 13, 0, tzinfo=UTC), "UTC", window) is not None
    assert quiet_until(datetime(2026, 1, 1, 14, 0, tzinfo=UTC), "UTC", window) is None


def test_breaker_opens_after_failures_and_backs_off() -> None:
    b = Breaker(threshold=3, first_pause_s=1.0, max_pause_s=4.0)
    for _ in range(2):
        b.failed(now=0)
    assert b.closed(now=0)
    b.failed(now=0)
    assert not b.closed(now=0.5)
    assert b.closed(now=1.0)
    b.failed(now=1.0)
    assert b.remaining_s(now=1.0) == 2.0  # doubled
    b.failed(now=3.0)
    b.failed(now=7.0)
    assert b.remaining_s(now=7.0) == 4.0  # capped
    b.succeeded()
    b.failed(now=20.0)
    assert b.closed(now=20.0)
