"""Who takes a task, pure: skill, shift, load under the cap, round robin."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.tasks.assign import Candidate, Choice, NoOne, choose

EARLY = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
LATE = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def staff(
    name: str, skills: str = "", on: bool = True, load: int = 0, cap: int = 5, last: datetime | None = None
) -> Candidate:
    return Candidate(name, tuple(skills.split()), on, load, cap, last)


def test_the_skilled_one_with_the_least_load_takes_it() -> None:
    found = choose("扫码", "扫码", [staff("甲", "扫码", load=3), staff("乙", "扫码", load=1), staff("丙", load=0)])
    assert found == Choice("乙", "技能匹配(扫码)+负载最少", 1)


def test_a_tie_goes_to_whoever_waited_longest() -> None:
    people = [
        staff("甲", "扫码", load=1, last=LATE),
        staff("乙", "扫码", load=1, last=EARLY),
        staff("丙", "扫码", load=1),
    ]
    found = choose("扫码", "扫码", people)
    assert found == Choice("丙", "技能匹配(扫码)+负载相同轮询", 1)  # never assigned: first in line
    assert choose("扫码", "扫码", people[:2]) == Choice("乙", "技能匹配(扫码)+负载相同轮询", 1)


def test_off_shift_and_full_people_are_skipped() -> None:
    people = [staff("甲", "扫码", on=False), staff("乙", "扫码", load=5, cap=5), staff("丙", "扫码", load=4)]
    assert choose("扫码", "扫码", people) == Choice("丙", "技能匹配(扫码)+负载最少", 4)


def test_without_a_skilled_one_on_shift_anyone_on_shift_takes_it_and_says_why() -> None:
    people = [staff("甲", "扫码", on=False), staff("乙", "登录", load=2), staff("丙", load=1)]
    assert choose("扫码", "扫码", people) == Choice("丙", "扫码技能人员不在班或已满+负载最少", 1)
    assert choose("人脸", "人脸", people[1:]) == Choice("丙", "无人脸技能人员+负载最少", 1)


def test_reassignment_excludes_the_current_assignee() -> None:
    people = [staff("甲", "扫码", load=0), staff("乙", "扫码", load=3)]
    assert choose("扫码", "扫码", people, frozenset({"甲"})) == Choice("乙", "技能匹配(扫码)+负载最少", 3)
    only = [staff("甲", "扫码", load=0), staff("丙", load=3)]
    assert choose("扫码", "扫码", only, frozenset({"甲"})) == Choice("丙", "无其他扫码技能人员+负载最少", 3)


def test_nobody_says_why() -> None:
    assert choose("扫码", "扫码", []) == NoOne("没有售后人员")
    assert choose("扫码", "扫码", [staff("甲", "扫码", on=False)]) == NoOne("无人在班")
    assert choose("扫码", "扫码", [staff("甲", "扫码", load=2, cap=2)]) == NoOne("在班人员任务已满")
