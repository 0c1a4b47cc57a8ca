"""Redis replies as Python values, whichever way the client decodes them."""

from __future__ import annotations


def text(value: bytes | str) -> str:
    """A Redis reply as str."""
    return value.decode() if isinstance(value, bytes) else str(value)
