"""Working hours (staff, robots, quiet hours): validated like a setting, and whether a moment is within
them. Pure: `covers` takes the local time."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Final

from pydantic import BaseModel, ConfigDict, field_validator

_SHIFT_RE: Final = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Shift(BaseModel):
    """Working hours: `hours` like "09:00-21:00" (may cross midnight, "00:00-24:00" = all day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: str = "00:00-24:00"
    days: tuple[str, ...] = _DAYS

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        match = _SHIFT_RE.match(value)
        if not match:
            raise ValueError('must look like "09:00-21:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f"{value!r} is not a valid time range")
        return value

    @field_validator("days")
    @classmethod
    def _check_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in value if d not in _DAYS]
        if bad:
            raise ValueError(f"unknown day(s) {bad}; use {list(_DAYS)}")
        return value

    def covers(self, local: datetime) -> bool:
        """Whether `local` (a time in the business time zone) falls within the shift."""
        start, end = self.bounds()
        now, day = local.time().replace(tzinfo=None), local.weekday()
        if end is None or start < end:  # the same day
            return _DAYS[day] in self.days and start <= now and (end is None or now < end)
        if now >= start:  # crosses midnight: the evening part belongs to the shift's starting day
            return _DAYS[day] in self.days
        return now < end and _DAYS[(day - 1) % 7] in self.days

    def bounds(self) -> tuple[time, time | None]:
        """Start and end; an end of None means midnight at the end of the day."""
        match = _SHIFT_RE.match(self.hours)
        assert match is not None  # validated
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return time(h1, m1), (None if h2 == 24 else time(h2, m2))
