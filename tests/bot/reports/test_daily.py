"""The daily report's figures: the pure `summarise` against numbers worked out by hand, and
`compute_daily` on both databases with rows right around Asia/Shanghai midnight."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.db import open_db
from bot.reports.daily import AlertRow, CommandRow, ComplaintCount, RobotRow, TaskRow, compute_daily, summarise
from models.alerts import CancelReason
from models.commands import CommandStatus
from tests.bot.reports import seed
from tests.bot.reports.seed import SHANGHAI, local

DAY = date(2026, 11, 19)  # the window: 2026-11-19 00:00 to 2026-11-20 00:00 Asia/Shanghai


# The day's tasks, times in Asia/Shanghai on the 19th unless stated.
TASKS = [
    # created 09:00, assigned 09:02 (120 s), followed up 09:10 (480 s after assigning), user answered in
    # 60 s, completed 10:00 (3600 s after creation)
    TaskRow(
        1,
        local(19, 9),
        assignee="小王",
        assigned_at=local(19, 9, 2),
        staff_follow_up_time=local(19, 9, 10),
        user_response_status="responded",
        user_response_s=60,
        cooperation="high",
        completed_at=local(19, 10),
    ),
    # created 10:00, assigned 10:05 (300 s), followed up 10:20 (900 s), answered in 300 s, completed 12:00 (7200 s)
    TaskRow(
        2,
        local(19, 10),
        assignee="小王",
        assigned_at=local(19, 10, 5),
        staff_follow_up_time=local(19, 10, 20),
        user_response_status="responded",
        user_response_s=300,
        cooperation="medium",
        completed_at=local(19, 12),
    ),
    # created 11:00, assigned 11:01 (60 s), no follow-up, the user refused; still open at midnight
    TaskRow(
        3,
        local(19, 11),
        assignee="小李",
        assigned_at=local(19, 11, 1),
        user_response_status="refused",
        cooperation="low",
    ),
    # created 20:00, nobody could take it: pending, open at midnight
    TaskRow(4, local(19, 20)),
    # created 23:30, assigned 23:40 (600 s), followed up 00:10 the next day (1800 s after assigning), the user
    # timed out, completed 01:00 the next day: open at midnight
    TaskRow(
        5,
        local(19, 23, 30),
        assignee="小李",
        assigned_at=local(19, 23, 40),
        staff_follow_up_time=local(20, 0, 10),
        user_response_status="timeout",
        completed_at=local(20, 1),
    ),
    # created two days before (17th 08:00), assigned then, completed on the 19th 15:00: 55 h = 198000 s
    TaskRow(6, local(17, 8), assignee="小王", assigned_at=local(17, 8, 5), completed_at=local(19, 15)),
    # created the day before (18th 10:00), still open at midnight: 38 h open > 24 h → overdue
    TaskRow(7, local(18, 10), assignee="小李", assigned_at=local(18, 10, 10)),
    # created the 18th 23:00, cancelled the 19th 01:00: cancelled that day, not open
    TaskRow(8, local(18, 23), cancelled_at=local(19, 1)),
    # created exactly at the next midnight: belongs to the 20th
    TaskRow(9, local(20, 0), assignee="小王", assigned_at=local(20, 0, 1)),
]

ALERTS = [
    AlertRow("complaint_unhandled", 2, local(19, 9, 30), "staff_intervened", local(19, 9, 40)),
    AlertRow("complaint_unhandled", 1, local(19, 14)),  # open
    AlertRow("user_refused", 4, local(19, 22), "expired", local(20, 22)),  # cancelled after midnight: open
    AlertRow("robot_offline", 2, local(18, 23, 59)),  # the day before: not counted
    AlertRow("task_overdue", 1, local(19, 12), "manual", local(19, 13)),
]

ROBOTS = [
    RobotRow("wt-robot-1", "小助手", online=True, unknown_results=5),
    RobotRow("wt-robot-2", "售后助手", online=False),
]
COMMANDS = [
    CommandRow("wt-robot-1", "succeeded", 2.0),
    CommandRow("wt-robot-1", "succeeded", 4.0),
    CommandRow("wt-robot-1", "failed"),
    CommandRow("wt-robot-1", "unknown"),
    CommandRow("wt-ghost", "sent", 1.0),  # a robot no longer configured
]
COMPLAINTS = [
    ComplaintCount(1, "客户群1", 3),
    ComplaintCount(2, "客户群2", 5),
    ComplaintCount(3, "客户群3", 1),
    ComplaintCount(4, "客户群4", 1),
    ComplaintCount(5, "客户群5", 2),
    ComplaintCount(6, "客户群6", 1),  # sixth: left out (ties go to the lower id)
]


def test_summarise_matches_the_figures_worked_out_by_hand() -> None:
    figures = summarise(
        DAY,
        SHANGHAI,
        tasks=TASKS,
        alerts=ALERTS,
        commands=COMMANDS,
        robots=ROBOTS,
        complaints=COMPLAINTS,
        overdue_hours=24,
    )
    assert (figures["day"], figures["start"], figures["end"]) == (
        "2026-11-19",
        "2026-11-19T00:00:00+08:00",
        "2026-11-20T00:00:00+08:00",
    )
    assert figures["tasks"] == {
        "created": 5,  # 1-5 (9 is the next day's)
        "completed": 3,  # 1, 2 and 6 (5 finished after midnight)
        "cancelled": 1,  # 8
        "open": 4,  # 3, 4, 5, 7
        "overdue": 1,  # 7 (38 h); 3 has been open 13 h, 4 4 h, 5 0.5 h
        "created_and_completed": 2,  # 1, 2
        "completion_rate_pct": 40.0,  # 2 / 5
        "avg_assignment_s": 270.0,  # (120 + 300 + 60 + 600) / 4; task 4 never assigned
        "avg_user_response_s": 180.0,  # (60 + 300) / 2
        "avg_completion_s": 69600.0,  # (3600 + 7200 + 198000) / 3
    }
    assert figures["staff"] == [
        # 小王: assigned 1 and 2 that day (6 on the 17th, 9 on the 20th); completed 1, 2, 6; nothing open
        {
            "name": "小王",
            "assigned": 2,
            "completed": 3,
            "open": 0,
            "avg_completion_s": 69600.0,  # as above
            "avg_follow_up_s": 690.0,  # (480 + 900) / 2
        },
        # 小李: assigned 3 and 5 that day (7 the day before); completed none; 3, 5, 7 open at midnight
        {"name": "小李", "assigned": 2, "completed": 0, "open": 3, "avg_completion_s": None, "avg_follow_up_s": 1800.0},
    ]
    assert figures["cooperation"] == {"high": 1, "medium": 1, "low": 1, "unknown": 2}  # 4 and 5 unknown
    assert figures["user_response"] == {"pending": 1, "responded": 2, "refused": 1, "timeout": 1}
    assert figures["alerts"] == {
        "opened": 4,
        "by_kind": {"complaint_unhandled": 2, "task_overdue": 1, "user_refused": 1},
        "by_max_level": {"1": 2, "2": 1, "3": 0, "4": 1},
        "by_outcome": {
            "staff_intervened": 1,
            "user_responded": 0,
            "resolved": 0,
            "manual": 1,
            "expired": 0,  # the refusal expired only the next evening: open at midnight
            "open": 2,
        },
    }
    assert figures["robots"] == [
        {
            "id": "wt-ghost",
            "name": "wt-ghost",
            "online": None,
            "commands": {"queued": 0, "sent": 1, "succeeded": 0, "failed": 0, "unknown": 0},
            "commands_total": 1,
            "avg_time_cost_s": 1.0,
            "unknown_results_total": 0,
        },
        {
            "id": "wt-robot-1",
            "name": "小助手",
            "online": True,
            "commands": {"queued": 0, "sent": 0, "succeeded": 2, "failed": 1, "unknown": 1},
            "commands_total": 4,
            "avg_time_cost_s": 3.0,  # (2 + 4) / 2: only commands with a timeCost
            "unknown_results_total": 5,
        },
        {
            "id": "wt-robot-2",
            "name": "售后助手",
            "online": False,
            "commands": {"queued": 0, "sent": 0, "succeeded": 0, "failed": 0, "unknown": 0},
            "commands_total": 0,
            "avg_time_cost_s": None,
            "unknown_results_total": 0,
        },
    ]
    assert [(c["name"], c["complaints"]) for c in figures["top_complaints"]] == [
        ("客户群2", 5),
        ("客户群1", 3),
        ("客户群5", 2),
        ("客户群3", 1),
        ("客户群4", 1),
    ]


def test_summarise_an_empty_day_has_no_averages_and_no_rate() -> None:
    figures = summarise(DAY, SHANGHAI)
    assert figures["tasks"]["completion_rate_pct"] is None
    assert figures["tasks"]["avg_assignment_s"] is None
    assert figures["staff"] == []
    assert figures["alerts"]["opened"] == 0
    assert figures["top_complaints"] == []


def test_overdue_hours_is_a_parameter() -> None:
    # task 3 has been open 13 h at midnight, task 7 38 h
    assert summarise(DAY, SHANGHAI, tasks=TASKS, overdue_hours=12)["tasks"]["overdue"] == 2
    assert summarise(DAY, SHANGHAI, tasks=TASKS, overdue_hours=48)["tasks"]["overdue"] == 0


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[None]:
    async with open_db(db_url):
        yield


BEFORE = local(18, 23, 59, 59)  # the last second of the day before
FIRST = local(19, 0)  # the first second of the day
LAST = local(19, 23, 59, 59)  # its last second
AFTER = local(20, 0)  # the next day's first second


async def test_compute_daily_counts_exactly_the_local_day(db: None) -> None:
    group1 = await seed.conversation("客户群1")
    group2 = await seed.conversation("客户群2")
    for at in (BEFORE, FIRST, LAST, AFTER):
        await seed.task(at, assignee="小王", assigned_at=at + timedelta(minutes=1))
        await seed.alert("complaint_unhandled", at, max_level=2)
        await seed.message(group1, at, type_="chat_complaint", case="needs_staff_now", text="退钱")
        await seed.command("wt-robot-1", at, CommandStatus.SUCCEEDED, time_cost_s=2.0)
    await seed.message(group2, FIRST + timedelta(hours=1), type_="chat_complaint", case="needs_staff_now")
    await seed.message(group2, FIRST + timedelta(hours=2))  # not a complaint
    # created at the first second, completed at the last one: 86399 s
    await seed.task(FIRST, completed_at=LAST, user_cooperation_level="high")
    # cancelled exactly at midnight (the day's end): it was open at the end of the day
    await seed.task(FIRST + timedelta(hours=3), cancelled_at=AFTER)
    await seed.alert("user_refused", FIRST, reason=CancelReason.STAFF_INTERVENED, cancelled_at=LAST)
    await seed.robot("wt-robot-1", "小助手", online=True, unknown_results=2)

    figures = await compute_daily(DAY, SHANGHAI, overdue_hours=24)

    tasks = figures["tasks"]
    # created: FIRST, LAST (of the 4), the completed one and the one cancelled at midnight
    assert tasks["created"] == 4
    assert tasks["completed"] == 1
    assert tasks["avg_completion_s"] == 86399.0
    # open at midnight: BEFORE's (created the day before), FIRST's, LAST's, and the one cancelled at midnight
    assert tasks["open"] == 4
    assert tasks["cancelled"] == 0  # its cancellation belongs to the 20th
    assert tasks["avg_assignment_s"] == 60.0
    assert figures["staff"] == [
        {"name": "小王", "assigned": 2, "completed": 0, "open": 3, "avg_completion_s": None, "avg_follow_up_s": None}
    ]
    assert figures["cooperation"] == {"high": 1, "medium": 0, "low": 0, "unknown": 3}
    assert figures["alerts"]["opened"] == 3  # FIRST, LAST, the refusal
    assert figures["alerts"]["by_kind"] == {"complaint_unhandled": 2, "user_refused": 1}
    assert figures["alerts"]["by_max_level"] == {"1": 1, "2": 2, "3": 0, "4": 0}
    assert figures["alerts"]["by_outcome"]["staff_intervened"] == 1
    assert figures["alerts"]["by_outcome"]["open"] == 2
    assert figures["robots"] == [
        {
            "id": "wt-robot-1",
            "name": "小助手",
            "online": True,
            "commands": {"queued": 0, "sent": 0, "succeeded": 2, "failed": 0, "unknown": 0},
            "commands_total": 2,
            "avg_time_cost_s": 2.0,
            "unknown_results_total": 2,
        }
    ]
    assert figures["top_complaints"] == [
        {"conversation_id": group1.id, "name": "客户群1", "complaints": 2},
        {"conversation_id": group2.id, "name": "客户群2", "complaints": 1},
    ]


async def test_compute_daily_of_the_day_before_sees_the_other_side(db: None) -> None:
    for at in (BEFORE, FIRST):
        await seed.task(at)
        await seed.alert("complaint_unhandled", at)
    figures = await compute_daily(DAY - timedelta(days=1), SHANGHAI)
    assert figures["tasks"]["created"] == 1
    assert figures["tasks"]["open"] == 1  # FIRST's task did not exist yet at the 18th's end
    assert figures["alerts"]["opened"] == 1
