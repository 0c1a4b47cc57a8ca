"""Base 36 (0-9 then a-z), the short numbers of what Redis keeps: a timeline entry's codes
and times (codec.py) and a final notice's status (store/notices.py). The Lua scripts read
and write the same digits."""

from __future__ import annotations

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode(n: int) -> str:
    """`n` in base 36, lower case, no leading zero; a minus sign before a negative one."""
    if n < 0:
        return "-" + encode(-n)
    out = ""
    while True:
        n, digit = divmod(n, 36)
        out = DIGITS[digit] + out
        if not n:
            return out


def decode(text: str) -> int:
    """The number `text` spells in base 36; ValueError if it spells none."""
    return int(text, 36)
