"""A past day's report figures for the console, as `bot/reports/daily.compute_daily` makes them, faster.

The day's complaints are the slow part of `compute_daily`: messages have no index on `received_at` or
`type`, so it reads every stored message (~0.9 s at 100,000). Message ids follow arrival order and
`received_at` is the ingest time, so the day's messages are one id range: found by a binary search over the
primary key (~20 look-ups), widened by `SKEW` for ids committed slightly out of time order by concurrent
ingest batches, and still filtered on `received_at`. Figures of a day are kept `CACHE_S` (a page reloaded or
re-filtered does not compute them again); a stored report (the daily job's) is always read as stored.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from tortoise.functions import Count

from bot.reports.daily import (
    COMPLAINT_TYPE,
    ComplaintCount,
    DailyFigures,
    day_window,
    load_alerts,
    load_commands,
    load_robots,
    load_tasks,
    summarise,
)
from models.conversations import Conversation
from models.messages import InboundMessage

SKEW: Final = timedelta(minutes=5)
CACHE_S: Final = 300.0
_cache: dict[tuple[date, str, float], tuple[float, DailyFigures]] = {}


def forget_cached_days() -> None:
    _cache.clear()


async def first_id_at(moment: datetime) -> int:
    """The lowest message id whose `received_at` is at or after `moment` (ids in arrival order); one past
    the last id when there is none."""
    newest = await InboundMessage.all().order_by("-id").first()
    if newest is None:
        return 1
    lo, hi = 1, newest.id + 1  # the answer lies in [lo, hi]
    while lo < hi:
        mid = (lo + hi) // 2
        row = await InboundMessage.filter(id__gte=mid).order_by("id").first().values_list("id", "received_at")
        if row is None:
            hi = mid
            continue
        found_id, at = row
        if at >= moment:
            hi = mid
        else:
            lo = int(found_id) + 1
    return lo


async def complaints_of_day(start: datetime, end: datetime) -> list[ComplaintCount]:
    lo, hi = await first_id_at(start - SKEW), await first_id_at(end + SKEW)
    counts = await (
        InboundMessage.filter(id__gte=lo, id__lt=hi, type=COMPLAINT_TYPE, received_at__gte=start, received_at__lt=end)
        .group_by("conversation_id")
        .annotate(n=Count("id"))
        .values_list("conversation_id", "n")
    )
    if not counts:
        return []
    names = dict(await Conversation.filter(id__in=[int(c) for c, _ in counts]).values_list("id", "name"))
    return [ComplaintCount(int(c), str(names.get(c, f"#{c}")), int(n)) for c, n in counts]


async def figures_of_day(day: date, tz: ZoneInfo, *, overdue_hours: float) -> DailyFigures:
    key = (day, tz.key, overdue_hours)
    cached = _cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < CACHE_S:
        return cached[1]
    start, end = day_window(day, tz)
    figures = summarise(
        day,
        tz,
        tasks=await load_tasks(start, end),
        alerts=await load_alerts(start, end),
        commands=await load_commands(start, end),
        robots=await load_robots(),
        complaints=await complaints_of_day(start, end),
        overdue_hours=overdue_hours,
    )
    if len(_cache) > 64:
        _cache.clear()
    _cache[key] = (time.monotonic(), figures)
    return figures
