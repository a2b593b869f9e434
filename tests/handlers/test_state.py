"""The pipeline's in-memory conversation state and the pure rules around it (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.tasks.cooperation import cooperation_level
from bot.understanding.engine import Classification
from handlers.pipeline import MessageUpdate
from handlers.state import CONTEXT_MESSAGES, ConversationState, OpenAlert, OpenTask, Room
from handlers.store import store_verdicts
from models.messages import InboundMessage
from models.tasks import Cooperation

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def message(n: int, text: str, at: datetime, sender: str = "号主A") -> InboundMessage:
    return InboundMessage(id=n, text=text, sender_name=sender, received_at=at)


def kind(code: str) -> Classification:
    return Classification(code, code, "user", 0.9, "test", "rules")


def test_the_context_keeps_the_last_messages_within_the_window_with_their_types() -> None:
    state = ConversationState()
    for n in range(CONTEXT_MESSAGES + 3):
        state.remember(message(n, f"m{n}", T0 + timedelta(minutes=n)), "user", kind(f"t{n}"))
    now = T0 + timedelta(minutes=CONTEXT_MESSAGES + 3)
    context = state.context(now)
    assert [c.text for c in context] == [f"m{n}" for n in range(3, CONTEXT_MESSAGES + 3)]  # the last 12
    assert context[-1].type == f"t{CONTEXT_MESSAGES + 2}"
    assert state.context(T0 + timedelta(hours=2, minutes=8)) == context[-7:]  # older than 2 h: out


def test_open_alerts_answer_from_memory_as_the_service_describes_them() -> None:
    state = ConversationState(open_alerts={3: OpenAlert(3, "complaint_unhandled", "号主A")})
    state.alert_opened(OpenAlert(7, "user_no_response", "号主B"))
    assert state.newest_open_alert() == "alert #7 (user_no_response)"
    assert [a.id for a in state.open_about(["user_no_response"], "号主B")] == [7]
    assert state.open_about(["user_no_response"], "号主A") == []
    state.alerts_closed([7, 99])
    assert state.newest_open_alert() == "alert #3 (complaint_unhandled)"
    state.alerts_closed([3])
    assert state.newest_open_alert() is None


def test_the_takeover_pause_is_kept_until_written() -> None:
    state = ConversationState(conversation=Room(1, "group", "群1", None, None))
    assert not state.bot_paused(T0)
    state.pause(T0 + timedelta(minutes=30), "售后小王")
    assert state.paused
    assert state.bot_paused(T0 + timedelta(minutes=29))
    assert not state.bot_paused(T0 + timedelta(minutes=30))


@pytest.mark.parametrize(
    ("task", "sender", "role", "mentioned", "touched"),
    [
        (OpenTask("号主A", awaits_user=True, awaits_follow_up=False), "号主A", "user", (), True),
        (OpenTask("号主A", awaits_user=True, awaits_follow_up=False), "号主B", "user", (), False),
        (OpenTask("号主A", awaits_user=False, awaits_follow_up=False), "号主A", "user", (), False),
        (OpenTask("号主A", awaits_user=False, awaits_follow_up=True), "售后小王", "staff", (), True),
        (OpenTask("号主A", awaits_user=False, awaits_follow_up=False), "售后小王", "staff", ("号主A",), True),
        (OpenTask("号主A", awaits_user=False, awaits_follow_up=False), "售后小王", "operator", ("号主B",), False),
        (OpenTask("号主A", awaits_user=True, awaits_follow_up=True), "小助手", "robot", ("号主A",), False),
    ],
)
def test_a_message_touches_an_open_task_only_when_the_service_would_change_it(
    task: OpenTask, sender: str, role: str, mentioned: tuple[str, ...], touched: bool
) -> None:
    assert task.touched_by(sender, role, mentioned) is touched


@pytest.mark.parametrize(
    ("refused", "latency_s", "reminded", "level"),
    [
        (True, 10.0, False, Cooperation.LOW),
        (False, 10.0, False, Cooperation.HIGH),
        (False, 30 * 60.0, False, Cooperation.HIGH),
        (False, 30 * 60.0 + 1, False, Cooperation.MEDIUM),
        (False, 10.0, True, Cooperation.MEDIUM),
    ],
)
def test_cooperation_level(refused: bool, latency_s: float, reminded: bool, level: Cooperation) -> None:
    assert cooperation_level(refused=refused, latency_s=latency_s, high_within_minutes=30, reminded=reminded) is level


async def test_only_verdict_columns_can_be_stored_with_a_message() -> None:
    update = MessageUpdate(role="user", fields={"state": "processed"})  # a step may not touch the state
    conn: Any = object()  # refused before any statement
    with pytest.raises(ValueError, match="not verdict columns"):
        await store_verdicts(conn, [(message(1, "x", T0), update)])
