"""The GSM-7 alphabet and the segments an SMS takes: what the notifier fits its texts to and
the local SMS sandbox bills."""

from __future__ import annotations

import pytest

from shipnotify.model import sms


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 153 * 2, 2),
        ("a" * (153 * 2 + 1), 3),
        ("я" * 70, 1),
        ("я" * 71, 2),
        ("я" * 67 * 2, 2),
        ("я" * (67 * 2 + 1), 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),  # 161 septets
        ("a" * 152 + "€" + "a" * 152, 3),  # the escape pair is never split between parts
        ("ș" * 70, 1),
        ("ă" * 71, 2),
        ("a" * 70 + "ș", 2),  # one character outside GSM-7 makes the whole text UCS-2
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 code units each
        ("😀" * 36, 2),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms.segments(text) == segments


@pytest.mark.parametrize(
    ("text", "gsm7"),
    [
        ("Hello @home: 100$ £5 ¥ è é Ø Å Δ _ Ñ § ¿ ¡ à\n\r", True),
        ("€ [ ] { } ^ ~ \\ | \f", True),
        ("ș", False),
        ("ț", False),
        ("ă", False),
        ("â", False),
        ("î", False),
        ("я", False),
        ("`", False),
        ("\x1b", False),
        ("ç", False),  # only the capital is in the table
        ("Ç", True),
    ],
)
def test_is_gsm7(text: str, gsm7: bool) -> None:
    assert sms.is_gsm7(text) is gsm7


def test_extension_characters_take_two_septets() -> None:
    for char in "€[]{}^~\\|\f":
        assert sms.segments(char * 80) == 1
        assert sms.segments(char * 81) == 2
