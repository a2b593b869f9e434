"""Callback values made storable on both databases before they join a group-commit batch.

One odd value must not fail the transaction its innocent neighbours share, so every value is checked
here, per callback: PostgreSQL refuses NUL characters (in text and jsonb), lone surrogates and non-finite
numbers (jsonb), SQLite cannot bind a lone surrogate or an integer beyond 64 bits, and an unbounded text
would be stored several times over and block the worker for seconds.

What cannot be stored is cleaned rather than refused (WorkTool never re-sends a callback), and the
payload records what was changed under CLEANED_KEY, so the original stays recoverable where it can be:
- a NUL or lone surrogate becomes U+FFFD; the record lists each (index, code point) replaced;
- a non-finite number or an integer beyond 64 bits becomes its text;
- a text longer than `max_chars` keeps its first `max_chars` characters; the record keeps the length.
  (WeCom caps a chat message far below the default 64 K characters: a longer one is not a real chat
  message, and its head keeps the sender, the conversation and what the text was about.)
Nesting deeper than MAX_DEPTH is refused (no WorkTool body nests more than two levels).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

CLEANED_KEY: Final = "hubCleaned"
MAX_DEPTH: Final = 32
REPLACEMENT: Final = "\ufffd"
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UNBOUNDED_FIELDS: Final = frozenset({"fileBase64"})  # bounded by server.max_body_bytes, stored once
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")

Record = dict[str, dict[str, Any]]


class TooDeep(ValueError):
    """The body nests deeper than MAX_DEPTH."""


def clean_text(value: str, path: str, max_chars: int | None, record: Record) -> str:
    """`value` bounded and storable; what changed goes into `record[path]`."""
    if max_chars is not None and len(value) > max_chars:
        record.setdefault(path, {})["truncatedFrom"] = len(value)
        value = value[:max_chars]
    # isascii() is O(1) on CPython: most values skip the regex.
    if (value.isascii() and "\x00" not in value) or _UNSTORABLE.search(value) is None:
        return value
    record.setdefault(path, {})["replaced"] = [[m.start(), ord(m.group())] for m in _UNSTORABLE.finditer(value)]
    return _UNSTORABLE.sub(REPLACEMENT, value)


def clean_value(value: Any, path: str, max_chars: int | None, record: Record, depth: int = 0) -> Any:
    """Any JSON value (or form string) made storable, recursively; raises TooDeep past MAX_DEPTH."""
    if isinstance(value, str):
        return clean_text(value, path, max_chars, record)
    if isinstance(value, bool | int | float) or value is None:
        return _clean_number(value, path, record)
    if depth >= MAX_DEPTH:
        raise TooDeep(f"{path or 'the body'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, child in value.items():
            key_record: Record = {}
            name = clean_text(str(key), "", None, key_record)
            child_path = f"{path}.{name}" if path else name
            if key_record:
                record.setdefault(child_path, {})["keyReplaced"] = key_record[""]["replaced"]
            limit = None if child_path in UNBOUNDED_FIELDS else max_chars
            cleaned[name] = clean_value(child, child_path, limit, record, depth + 1)
        return cleaned
    if isinstance(value, list | tuple):
        return [clean_value(child, f"{path}[{i}]", max_chars, record, depth + 1) for i, child in enumerate(value)]
    return clean_text(str(value), path, max_chars, record)  # e.g. a form's FileField name


def _clean_number(value: bool | float | None, path: str, record: Record) -> Any:
    if isinstance(value, bool) or value is None or is_plain(value):
        return value
    record.setdefault(path, {})["number"] = "not finite" if isinstance(value, float) else "beyond 64 bits"
    return str(value)


def clean_fields(fields: Mapping[str, Any], max_chars: int) -> tuple[dict[str, Any], bool]:
    """A callback body made storable, with CLEANED_KEY recording what changed; True if anything did."""
    record: Record = {}
    cleaned = clean_value(fields, "", max_chars, record)
    if record:
        cleaned[CLEANED_KEY] = {**_previous(fields), **record}
    return cleaned, bool(record)


def _previous(fields: Mapping[str, Any]) -> Record:
    earlier = fields.get(CLEANED_KEY)
    return earlier if isinstance(earlier, dict) else {}


def is_plain(value: Any) -> bool:
    """A scalar that every database stores as it is (the fast path's check of unknown fields)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(INT64_MIN <= value <= INT64_MAX)
    return kind is float and math.isfinite(value)
