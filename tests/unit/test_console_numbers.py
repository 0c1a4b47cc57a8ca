"""The console writes numbers and the trend's days as each language does: Babel's symbols
and names, quickly."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.dates import format_date
from babel.numbers import format_decimal

from shipnotify.console.pages import _fmt, _short_day


@pytest.mark.parametrize("lang", ["en", "ru", "ro"])
def test_numbers_read_as_babel_writes_them(lang: str) -> None:
    for value in (1234567.891, -12.34, 0.0, 72.2897, 100.0, -0.04, 5.0):
        assert _fmt(lang)(value) == format_decimal(value, format="#,##0.0", locale=lang)
    assert _fmt("ru")(1234.5) == "1\xa0234,5"
    assert _fmt("ro")(1234.5) == "1.234,5"


@pytest.mark.parametrize("lang", ["en", "ru", "ro"])
def test_the_trends_days_read_as_babel_writes_them(lang: str) -> None:
    for day in (date(2028, 1, 1) + timedelta(days=n) for n in range(366)):
        assert _short_day(lang, day) == format_date(day, "d MMM", locale=lang)
