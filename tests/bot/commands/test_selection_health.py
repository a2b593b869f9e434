"""Robot selection and health: critical robots only as a last resort, the healthiest first, the reason said."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.commands.selection import RobotCandidate, choose_robot, health
from tests.bot.commands.test_selection import BASE, LOCAL_NOON

GOOD = replace(BASE, id="a", health_score=80, health_status="good", queued=5)
CRITICAL = replace(BASE, id="b", health_score=20, health_status="critical")
EXCELLENT = replace(BASE, id="c", health_score=95, health_status="excellent", queued=9)


@pytest.mark.parametrize(
    ("candidates", "chosen", "reason"),
    [
        ([CRITICAL, GOOD], "a", "health 80 (good), 5 queued; avoided b: critical (20)"),
        (
            [CRITICAL],
            "b",
            "health 20 (critical), 0 queued; critical, but no other robot can send into this conversation",
        ),
        ([GOOD, EXCELLENT], "c", "health 95 (excellent), 9 queued; best of 2"),  # health before queue
        (
            [replace(GOOD, online=False), CRITICAL],
            "b",
            (
                "health 20 (critical), 0 queued; critical, but no other robot can send into this conversation; "
                "passed over a: offline"
            ),
        ),
        ([BASE], "r1", "health 100, 0 queued"),  # never checked
    ],
)
def test_critical_robots_are_a_last_resort_and_the_reason_says_why(
    candidates: list[RobotCandidate],
    chosen: str,
    reason: str,
) -> None:
    choice = choose_robot(candidates, "reply", LOCAL_NOON)
    assert (choice.robot.id, choice.reason) == (chosen, reason)


def test_results_missing_since_the_last_check_lower_the_ranking_at_once() -> None:
    assert health(replace(EXCELLENT, recent_unknown=2)) == 70  # 100 - 2 x 15, below the check's 95
    assert health(replace(EXCELLENT, recent_unknown=0)) == 95
