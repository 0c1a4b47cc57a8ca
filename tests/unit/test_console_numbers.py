"""The console writes numbers as each language does: Babel's symbols, quickly."""

from __future__ import annotations

import pytest
from babel.numbers import format_decimal

from shipnotify.console.pages import _fmt


@pytest.mark.parametrize("lang", ["en", "ru", "ro"])
def test_numbers_read_as_babel_writes_them(lang: str) -> None:
    for value in (1234567.891, -12.34, 0.0, 72.2897, 100.0, -0.04, 5.0):
        assert _fmt(lang)(value) == format_decimal(value, format="#,##0.0", locale=lang)
    assert _fmt("ru")(1234.5) == "1\xa0234,5"
    assert _fmt("ro")(1234.5) == "1.234,5"
