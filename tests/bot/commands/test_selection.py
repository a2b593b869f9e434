"""Robot selection: who may send into a conversation, and who is best."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.commands.selection import NoRobotAvailable, RobotCandidate, select_robot
from bot.rules.shift import Shift

LOCAL_NOON = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BASE = RobotCandidate(
    id="r1",
    name="小助手",
    roles=("reply", "alert"),
    shift=Shift(),
    enabled=True,
    online=True,
    seen_conversation=True,
    recent_unknown=0,
    queued=0,
)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"enabled": False}, "disabled"),
        ({"roles": ("listen",)}, "lacks the reply role"),
        ({"seen_conversation": False}, "has not seen this conversation"),
        ({"online": False}, "offline"),
        ({"shift": Shift(hours="20:00-08:00")}, "off shift (20:00-08:00)"),
    ],
)
def test_each_reason_to_pass_a_robot_over(change: dict[str, object], why: str) -> None:
    with pytest.raises(NoRobotAvailable) as caught:
        select_robot([replace(BASE, **change)], "reply", LOCAL_NOON)  # type: ignore[arg-type]
    assert caught.value.reasons == {"r1": why}
    assert why in str(caught.value)


def test_unknown_online_state_still_qualifies_but_ranks_lower() -> None:
    unknown = replace(BASE, id="a", online=None)
    known = replace(BASE, id="b", online=True)
    assert select_robot([unknown, known], "reply", LOCAL_NOON).id == "b"
    assert select_robot([unknown], "reply", LOCAL_NOON).id == "a"


def test_healthiest_then_least_queued() -> None:
    flaky = replace(BASE, id="a", recent_unknown=2, queued=0)
    busy = replace(BASE, id="b", queued=9)
    idle = replace(BASE, id="c", queued=1)
    assert select_robot([flaky, busy, idle], "reply", LOCAL_NOON).id == "c"
    assert select_robot([flaky, busy], "reply", LOCAL_NOON).id == "b"


def test_no_robots_at_all() -> None:
    with pytest.raises(NoRobotAvailable, match="no robots configured"):
        select_robot([], "alert", LOCAL_NOON)


@pytest.mark.parametrize(
    ("hours", "days", "when", "covered"),
    [
        ("09:00-21:00", ("mon", "tue", "wed", "thu", "fri"), datetime(2026, 11, 20, 9, 0), True),  # Friday
        ("09:00-21:00", ("mon", "tue", "wed", "thu", "fri"), datetime(2026, 11, 20, 21, 0), False),
        ("09:00-21:00", ("mon", "tue", "wed", "thu", "fri"), datetime(2026, 11, 21, 12, 0), False),  # Saturday
        ("22:00-06:00", ("fri",), datetime(2026, 11, 20, 23, 0), True),  # Friday night
        ("22:00-06:00", ("fri",), datetime(2026, 11, 21, 5, 59), True),  # belongs to Friday's shift
        ("22:00-06:00", ("fri",), datetime(2026, 11, 20, 5, 0), False),  # Thursday's shift: not worked
        ("00:00-24:00", ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), datetime(2026, 11, 22, 23, 59), True),
    ],
)
def test_shift_covers(hours: str, days: tuple[str, ...], when: datetime, covered: bool) -> None:
    assert Shift(hours=hours, days=days).covers(when) is covered
