"""Making a received body storable as is, on both databases.

A raw payload is kept for every callback, but PostgreSQL's jsonb refuses a NUL character, a lone surrogate
and non-finite numbers, and an integer column overflows on WorkTool's occasional oversized numbers. Cleaning
replaces only what cannot be stored (U+FFFD for characters, a string for numbers), so a fire-once callback
is never lost to one odd value.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from bot import limits

INT32_MIN: Final = limits.INT32.min
INT32_MAX: Final = limits.INT32.max
REPLACEMENT: Final = "\ufffd"
_UNSTORABLE_CHARS: Final = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """The text with NUL and lone surrogates replaced (a valid surrogate pair never reaches Python's str)."""
    return _UNSTORABLE_CHARS.sub(REPLACEMENT, value) if _UNSTORABLE_CHARS.search(value) else value


def storable(value: Any) -> Any:
    """A JSON value that both databases store: strings cleaned, non-finite floats and integers beyond
    64 bits as strings, keys as cleaned strings, depth as received (the body reader bounds it)."""
    if isinstance(value, dict):
        return {clean_text(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    fits = value in limits.BIGINT or (isinstance(value, float) and math.isfinite(value))
    return value if fits else clean_text(str(value))


def int32_or_none(value: Any) -> int | None:
    """An int column's value from a loosely typed field: ints and digit strings within int32, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,12}", text):
            return None
        value = int(text)
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, int) and INT32_MIN <= value <= INT32_MAX:
        return value
    return None
