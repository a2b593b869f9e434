"""The console's day figures equal `compute_daily`'s, with the day's messages found as an id range."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.console.daily import figures_of_day, first_id_at, forget_cached_days
from bot.db import open_db
from bot.reports.daily import compute_daily
from tests.console.conftest import add_conversation, add_message

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[None]:
    forget_cached_days()  # a day's figures are kept per process: each database computes its own
    async with open_db(db_url):
        yield


async def test_complaints_of_a_day_match_compute_daily(db: None) -> None:
    start = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: the messages span three local days
    group, other = await add_conversation("客户群1", start), await add_conversation("客户群2", start)
    ids = []
    for n in range(60):
        at = start + timedelta(hours=n)
        kind = "chat_complaint" if n % 3 else "chat_daily"
        ids.append((await add_message(group if n % 2 else other, "用户", f"第{n}条", at, type=kind)).id)
    assert await first_id_at(start) == ids[0]
    assert await first_id_at(start + timedelta(hours=10, minutes=1)) == ids[11]
    assert await first_id_at(start + timedelta(days=30)) == ids[-1] + 1
    for day in (date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)):
        ours = await figures_of_day(day, TZ, overdue_hours=24)
        theirs = await compute_daily(day, TZ, overdue_hours=24)
        assert ours == theirs, day
    assert (await figures_of_day(date(2026, 11, 19), TZ, overdue_hours=24))["top_complaints"]  # not vacuous
