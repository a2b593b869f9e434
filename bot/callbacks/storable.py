"""Making a received body storable as is, on both databases, where nothing about it may be refused.

The result and status callbacks are fired once: their raw body is stored whatever it holds. This reads it
through the same cleaner as the message callback (bot/callbacks/cleaning.py: NUL and lone surrogates become
U+FFFD, non-finite numbers and integers beyond 64 bits their text), without its record of changes and
without a length bound (the server's body limit bounds these bodies).
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from bot import limits
from bot.callbacks.cleaning import TooDeep, clean_value

_INT_TEXT: Final = re.compile(r"[+-]?[0-9]{1,12}")
UNREADABLE_BODY: Final = "unreadableBody"  # a body kept as text, not as what it says
MAX_KEPT_CHARS: Final = 64 * 1024


def clean_text(value: str) -> str:
    """The text with NUL and lone surrogates replaced."""
    cleaned: str = clean_value(value, "", None, {})
    return cleaned


def storable(value: Any) -> Any:
    """A JSON value that both databases store (see the module's docstring). A body nested deeper than the
    cleaner goes is kept as (the start of) its text."""
    try:
        return clean_value(value, "", None, {})
    except TooDeep as exc:
        return {UNREADABLE_BODY: clean_text(repr(value)[:MAX_KEPT_CHARS]), "error": str(exc)}


def int32_or_none(value: Any) -> int | None:
    """An int column's value from a loosely typed field: ints and digit strings within int32, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _INT_TEXT.fullmatch(text):
            return None
        value = int(text)
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, int) and value in limits.INT32:
        return value
    return None
