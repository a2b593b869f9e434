"""Choosing who takes an after-sales task, pure: skill → on shift → fewest open tasks under the cap →
round robin (whoever waited longest since their last assignment) on a tie."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    name: str
    skills: tuple[str, ...]
    on_shift: bool
    open_tasks: int
    cap: int
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class Choice:
    assignee: str
    reason: str  # e.g. 技能匹配(扫码)+负载最少
    open_tasks: int  # the assignee's open tasks before this one


@dataclass(frozen=True)
class NoOne:
    reason: str  # why nobody could take it (stored on the pending task)


def _pick(pool: Sequence[Candidate], why: str) -> Choice | None:
    free = [c for c in pool if c.on_shift and c.open_tasks < c.cap]
    if not free:
        return None
    least = min(c.open_tasks for c in free)
    tied = [c for c in free if c.open_tasks == least]
    if len(tied) == 1:
        return Choice(tied[0].name, f"{why}+负载最少", least)
    pick = min(tied, key=lambda c: (c.last_assigned_at or _NEVER, c.name))
    return Choice(pick.name, f"{why}+负载相同轮询", least)


def choose(
    skill: str | None, label: str, candidates: Sequence[Candidate], exclude: frozenset[str] = frozenset()
) -> Choice | NoOne:
    """`label` names the skill in the reason (the task type). Staff with the skill come first; if none of
    them is on shift with room, anyone on shift with room takes it (a task waiting for a specialist
    overnight helps nobody), and the reason says so."""
    pool = [c for c in candidates if c.name not in exclude]
    skilled = [c for c in pool if skill is not None and skill in c.skills]
    if skilled:
        found = _pick(skilled, f"技能匹配({label})")
        if found is not None:
            return found
        fallback = _pick([c for c in pool if c not in skilled], f"{label}技能人员不在班或已满")
    else:
        others = any(skill is not None and skill in c.skills for c in candidates)  # only the excluded have it
        fallback = _pick(pool, f"无{'其他' if others else ''}{label}技能人员" if skill else "通用")
    if fallback is not None:
        return fallback
    if not pool:
        return NoOne("没有售后人员")
    if not any(c.on_shift for c in pool):
        return NoOne("无人在班")
    return NoOne("在班人员任务已满")
