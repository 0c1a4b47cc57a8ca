"""Base 36, as the timeline entries and the final notices' records store numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipnotify.model import base36
from shipnotify.v1 import shipment_events_pb2 as pb


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (9, "9"), (10, "a"), (35, "z"), (36, "10"), (1_700_000_000_123, "loyw3v5n")],
)
def test_known_numbers(n: int, text: str) -> None:
    assert base36.encode(n) == text
    assert base36.decode(text) == n
    assert base36.encode(-n) == ("-" + text if n else "0")


@given(st.integers())
def test_any_number_round_trips_in_lower_case_without_leading_zeros(n: int) -> None:
    text = base36.encode(n)
    assert base36.decode(text) == n
    digits = text.removeprefix("-") if n < 0 else text
    assert set(digits) <= set(base36.DIGITS)
    assert digits == "0" or not digits.startswith("0")


@given(st.text(alphabet=base36.DIGITS, min_size=1).filter(lambda t: t == "0" or t[0] != "0"))
def test_any_canonical_text_round_trips(text: str) -> None:
    assert base36.encode(base36.decode(text)) == text


def test_every_notice_status_is_one_digit() -> None:
    """A final notice's record keeps its status in one character (notice_codec.lua)."""
    assert all(len(base36.encode(n)) == 1 for n in pb.Status.values())


@pytest.mark.parametrize("text", ["", "-", "a.b", "ä"])
def test_text_that_spells_no_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="base 36"):
        base36.decode(text)
