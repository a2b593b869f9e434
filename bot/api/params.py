"""The ranges an API input must fall in, declared once, and the parsers of path and query values.

Every id is a BIGINT row id: an id outside 1..MAX_ID is refused here (400) instead of overflowing in the
database driver. Times and dates are refused outside the span the code can compute with (it subtracts
days and weeks from them and converts them between zones).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Final

from aiohttp import web
from pydantic import Field

from bot import limits
from bot.api.envelope import ApiError

MAX_ID: Final = limits.ROW_ID.max  # BIGINT
DbId = Annotated[int, Field(ge=1, le=MAX_ID, description=f"a row id, 1..{MAX_ID}")]
TIME_MIN: Final = datetime(1970, 1, 1, tzinfo=UTC)
TIME_MAX: Final = datetime(9000, 1, 1, tzinfo=UTC)  # exclusive; leaves room for arithmetic in days
DATE_MIN: Final = TIME_MIN.date()
DATE_MAX: Final = date(8999, 12, 31)
TIME_RANGE: Final = f"between {TIME_MIN:%Y-%m-%d} and {TIME_MAX:%Y-%m-%d} (UTC)"
_DIGITS: Final = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() and int() also take "²" and "٣"
_INTEGER: Final = re.compile(r"-?[0-9]{1,19}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_id(raw: str) -> int | None:
    """`raw` as a row id (ASCII digits, 1..MAX_ID), else None."""
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def path_id(request: web.Request, name: str) -> int:
    """The path parameter `name` as a row id; 400 naming it otherwise."""
    raw = request.match_info[name]
    value = parse_id(raw)
    if value is None:
        raise ApiError(400, f"{name} must be an integer from 1 to {MAX_ID}, got {_show(raw)}", error="bad_parameter")
    return value


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """The query parameter `name` as an integer in [low, high] (ASCII digits, optional minus)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise ApiError(400, f"query parameter {name} must be an integer, got {_show(raw)}", error="bad_parameter")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, f"query parameter {name} must be between {low} and {high}", error="bad_parameter")
    return value


def id_param(request: web.Request, name: str) -> int | None:
    """The query parameter `name` as a row id, None when absent."""
    if name not in request.query:
        return None
    return int_param(request, name, 0, 1, MAX_ID)


def time_param(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 query time with a zone, in UTC (SQLite compares stored times as UTC text)."""
    raw = request.query.get(name)
    if raw is None:
        return None
    raw = re.sub(r" (\d{2}:?\d{2})$", r"+\1", raw)  # an unescaped "+08:00" arrives as " 08:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        problem = f"query parameter {name} must be an ISO 8601 time, got {_show(raw)}"
        raise ApiError(400, problem, error="bad_parameter") from None
    if value.tzinfo is None:
        raise ApiError(400, f"query parameter {name} needs a time zone (e.g. +08:00 or Z)", error="bad_parameter")
    problem = f"query parameter {name} must be {TIME_RANGE}, got {_show(raw)}"
    out_of_range = ApiError(400, problem, error="bad_parameter")
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+08:00 is before datetime.min once in UTC
        raise out_of_range from None
    if not TIME_MIN <= value < TIME_MAX:
        raise out_of_range
    return value


def date_param(request: web.Request, name: str, default: date) -> date:
    """A YYYY-MM-DD query date within DATE_MIN..DATE_MAX."""
    raw = request.query.get(name)
    if raw is None:
        return default
    problem = f"query parameter {name} must be a date like 2026-11-19, got {_show(raw)}"
    bad = ApiError(400, problem, error="bad_parameter")
    if not _DATE.fullmatch(raw):
        raise bad
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise bad from None
    if not DATE_MIN <= value <= DATE_MAX:
        problem = f"query parameter {name} must be between {DATE_MIN} and {DATE_MAX}, got {raw}"
        raise ApiError(400, problem, error="bad_parameter")
    return value


def _show(raw: str, limit: int = 60) -> str:
    """`raw` quoted for an error message, cut short: a message must not echo a 4 KB parameter."""
    return repr(raw) if len(raw) <= limit else f"{raw[:limit]!r}… ({len(raw)} characters)"
