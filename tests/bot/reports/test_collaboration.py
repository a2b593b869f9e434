"""The collaboration analysis: the pure `collaborate` against figures worked out by hand, and `analyse`
on both databases (one conversation and all of them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.db import open_db
from bot.reports.collaboration import MessageRow, analyse, collaborate
from bot.reports.daily import AlertRow, TaskRow
from models.alerts import CancelReason
from models.commands import CommandStatus
from tests.bot.reports import seed
from tests.bot.reports.seed import local

START, END = local(19, 9), local(19, 12)  # the window: 2026-11-19 09:00-12:00 Asia/Shanghai


def msg(
    n: int, conv: int, hour: int, minute: int, sender: str, role: str | None, type_: str | None, case: str | None
) -> MessageRow:
    return MessageRow(n, conv, sender, local(19, hour, minute), role, type_, case)


MESSAGES = [
    msg(1, 1, 8, 0, "号主A", "user", "chat_daily", "no_staff_needed"),  # before the window (the 2 h look-back)
    msg(2, 1, 8, 30, "售后小王", "staff", "staff_reply_user", "staff_took_over"),  # before: not counted
    msg(3, 1, 8, 50, "号主A", "user", "chat_complaint", "needs_staff_now"),  # before; answered by 4
    msg(4, 1, 9, 10, "售后小王", "staff", "staff_reply_user", "staff_took_over"),  # reply to 3 after 20 min
    msg(5, 1, 9, 12, "售后小王", "staff", "staff_other", "no_staff_needed"),  # a follow-up, not a reply
    msg(6, 1, 9, 30, "号主A", "user", "chat_complaint", "needs_staff_now"),
    msg(7, 1, 9, 31, "号主B", "user", "chat_daily", "no_staff_needed"),  # the bot answered it
    msg(8, 1, 9, 35, "小助手", "robot", "chat_other", "no_staff_needed"),  # our robot: no effect on replies
    msg(9, 1, 9, 40, "运营小张", "operator", "operator_other", "staff_took_over"),  # reply to 7 (latest) after 9 min
    msg(10, 1, 9, 45, "号主B", "user", "chat_after_sales", "needs_after_sales"),
    msg(15, 1, 10, 30, "号主A", None, None, None),  # not processed yet: no role, no case
    msg(11, 1, 11, 50, "售后小李", "staff", "staff_at_user", "no_staff_needed"),  # 2 h 05 min after 10: no reply
    msg(12, 2, 11, 0, "号主C", "user", "chat_complaint", "needs_staff_now"),
    msg(13, 2, 11, 5, "售后小王", "staff", "staff_reply_user", "staff_took_over"),  # reply to 12 after 5 min
    msg(14, 2, 12, 0, "号主C", "user", "chat_complaint", "needs_staff_now"),  # the window's end: excluded
]
BOT_REPLIED = frozenset({1, 6, 7})  # 6 is a complaint (needs staff): not "bot-handled"; 1 is before the window
ALERTS = [
    AlertRow("complaint_unhandled", 1, local(19, 9, 30), "staff_intervened", local(19, 9, 40)),  # handled
    AlertRow("complaint_unhandled", 1, local(19, 11), "manual", local(19, 11, 5)),  # handled
    AlertRow("user_refused", 1, local(19, 10), "expired", local(19, 11, 30)),  # expired
    AlertRow("private_operation", 1, local(19, 10, 15)),  # open
    AlertRow("user_refused", 1, local(19, 10, 20), "user_responded", local(19, 10, 25)),  # resolved otherwise
    AlertRow("task_overdue", 1, local(19, 10), "resolved", local(19, 11)),  # not a needs-staff kind
    AlertRow("complaint_unhandled", 1, local(19, 8)),  # before the window
    AlertRow("operator_tone_hard", 1, local(19, 11, 50), "staff_intervened", local(19, 12, 30)),  # open at the end
]
TASKS = [
    TaskRow(1, local(19, 9, 20), completed_at=local(19, 11), cooperation="high"),
    TaskRow(2, local(19, 10), completed_at=local(19, 12, 30), cooperation="medium"),  # completed after the end
    TaskRow(3, local(19, 11)),
    TaskRow(4, local(19, 8), completed_at=local(19, 10), cooperation="low"),  # created before the window
]


def test_collaborate_matches_the_figures_worked_out_by_hand() -> None:
    figures = collaborate(START, END, messages=MESSAGES, bot_replied=BOT_REPLIED, alerts=ALERTS, tasks=TASKS)
    assert figures["staff_activity"] == {
        "people": [
            # 4, 5, 13 in conversations 1 and 2; takeovers 4 and 13; replies 4 (1200 s) and 13 (300 s)
            {
                "name": "售后小王",
                "role": "staff",
                "messages": 3,
                "conversations": 2,
                "takeovers": 2,
                "replies": 2,
                "avg_reply_latency_s": 750.0,
            },
            {
                "name": "售后小李",
                "role": "staff",
                "messages": 1,
                "conversations": 1,
                "takeovers": 0,
                "replies": 0,
                "avg_reply_latency_s": None,
            },
            {
                "name": "运营小张",
                "role": "operator",
                "messages": 1,
                "conversations": 1,
                "takeovers": 1,
                "replies": 1,
                "avg_reply_latency_s": 540.0,
            },
        ],
        "messages": 5,
        "takeovers": 3,
        "replies": 3,
        "avg_reply_latency_s": 680.0,  # (1200 + 300 + 540) / 3
    }
    assert figures["user_satisfaction"] == {
        "user_messages": 4,  # 6, 7, 10, 12
        "complaint_messages": 2,  # 6, 12
        "complaint_share_pct": 50.0,
        "refusals": 2,  # the two user_refused alerts opened in the window
        "cooperation": {"high": 1, "medium": 1, "low": 0, "unknown": 1},  # tasks 1-3
    }
    assert figures["human_intervention"] == {
        "by_case": {
            "staff_took_over": 3,  # 4, 9, 13
            "needs_staff_now": 2,  # 6, 12
            "needs_after_sales": 1,  # 10
            "no_staff_needed": 4,  # 5, 7, 8, 11
            "unprocessed": 1,  # 15
        },
        "alerts_by_kind": {
            "complaint_unhandled": 2,
            "user_refused": 2,
            "operator_tone_hard": 1,
            "private_operation": 1,
            "task_overdue": 1,
        },
        "needs_staff_now": {
            "alerts": 6,
            "handled_by_staff": 2,
            "resolved_otherwise": 1,
            "expired": 1,
            "open": 2,  # private_operation, and operator_tone_hard (cancelled only after the end)
            "handled_share_pct": 33.3,
            "expired_share_pct": 16.7,
        },
    }
    assert figures["collaboration_effect"] == {
        "bot_handled": 1,  # 7
        "staff_handled": 3,
        "bot_share_pct": 25.0,
        "tasks_created": 3,
        "tasks_completed": 1,  # task 1; task 2 after the end
        "task_resolution_pct": 33.3,
        "alerts_opened": 7,
        "alerts_resolved": 4,  # both handled, user_responded, resolved
        "alerts_expired": 1,
        "alerts_open": 2,
        "alert_resolution_pct": 57.1,
    }


def test_collaborate_with_nothing_has_no_shares() -> None:
    figures = collaborate(START, END)
    assert figures["user_satisfaction"]["complaint_share_pct"] is None
    assert figures["collaboration_effect"]["bot_share_pct"] is None
    assert figures["human_intervention"]["needs_staff_now"]["handled_share_pct"] is None


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[None]:
    async with open_db(db_url):
        yield


async def test_analyse_one_conversation_and_all(db: None) -> None:
    group1 = await seed.conversation("客户群1")
    group2 = await seed.conversation("客户群2")
    asked = await seed.message(group1, local(19, 9, 50), type_="chat_complaint", case="needs_staff_now")
    await seed.message(
        group1, local(19, 10), sender="售后小王", role="staff", type_="staff_reply_user", case="staff_took_over"
    )
    daily = await seed.message(group1, local(19, 10, 30), sender="号主B")
    await seed.command(
        "wt-robot-1",
        local(19, 10, 30),
        CommandStatus.SUCCEEDED,
        reply_key=f"reply:{daily.id}",
        conversation_id=group1.id,
    )
    await seed.message(group2, local(19, 11), sender="号主C", type_="chat_complaint", case="needs_staff_now")
    await seed.message(
        group2, local(19, 11, 1), sender="售后小李", role="staff", type_="staff_reply_user", case="staff_took_over"
    )
    await seed.alert(
        "complaint_unhandled",
        asked.received_at,
        reason=CancelReason.STAFF_INTERVENED,
        cancelled_at=local(19, 10),
        conversation_id=group1.id,
    )
    await seed.alert("complaint_unhandled", local(19, 11), conversation_id=group2.id)
    await seed.task(local(19, 10), conversation_id=group1.id, completed_at=local(19, 11))
    await seed.task(local(19, 11), conversation_id=group2.id)

    one = await analyse(group1.id, START, END)
    assert one["conversation_id"] == group1.id
    assert [(p["name"], p["replies"], p["avg_reply_latency_s"]) for p in one["staff_activity"]["people"]] == [
        ("售后小王", 1, 600.0)
    ]
    assert one["user_satisfaction"]["user_messages"] == 2
    assert one["user_satisfaction"]["complaint_messages"] == 1
    assert one["collaboration_effect"]["bot_handled"] == 1
    assert one["collaboration_effect"]["tasks_created"] == 1
    assert one["collaboration_effect"]["task_resolution_pct"] == 100.0
    assert one["human_intervention"]["needs_staff_now"]["handled_by_staff"] == 1
    assert one["human_intervention"]["needs_staff_now"]["open"] == 0

    everything = await analyse(None, START, END)
    assert everything["staff_activity"]["messages"] == 2
    assert everything["staff_activity"]["avg_reply_latency_s"] == 330.0  # (600 + 60) / 2
    assert everything["user_satisfaction"]["complaint_messages"] == 2
    assert everything["human_intervention"]["needs_staff_now"]["alerts"] == 2
    assert everything["collaboration_effect"]["tasks_created"] == 2

    later = await analyse(None, END, END + timedelta(hours=1))
    assert later["staff_activity"]["messages"] == 0
    assert later["collaboration_effect"]["alerts_opened"] == 0
