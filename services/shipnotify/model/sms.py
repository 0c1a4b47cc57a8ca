"""How an SMS text is sent: the GSM-7 alphabet (GSM 03.38) and the segments a text takes.

The notifier fits its texts to one segment with it; the local SMS sandbox bills by it.
"""

from __future__ import annotations

__all__ = ["is_gsm7", "segments"]

# GSM 03.38 default alphabet, in code order (0x00-0x7F); 0x1B is the escape to the extension.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as escape + code, two septets.
_GSM7_EXTENSION = "\f^{}\\[~]|€"
_SEPTETS: dict[str, int] = {c: 1 for c in _GSM7_BASIC if c != "\x1b"} | dict.fromkeys(
    _GSM7_EXTENSION, 2
)
_GSM7_LIMITS = (160, 153)  # septets: a single message, a part of a concatenated one
_UCS2_LIMITS = (70, 67)  # UTF-16 code units


def is_gsm7(text: str) -> bool:
    """Whether `text` can be sent in the GSM 03.38 alphabet (with its extension table)."""
    return all(c in _SEPTETS for c in text)


def segments(text: str) -> int:
    """How many SMS segments `text` takes (an empty text still takes one).

    GSM-7 when every character allows it, UCS-2 otherwise. A two-septet extension
    character or a surrogate pair is never split between parts.
    """
    if is_gsm7(text):
        return _parts([_SEPTETS[c] for c in text], *_GSM7_LIMITS)
    return _parts([2 if ord(c) > 0xFFFF else 1 for c in text], *_UCS2_LIMITS)


def _parts(costs: list[int], single: int, part: int) -> int:
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts
