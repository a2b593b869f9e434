"""Choosing the robot that sends into a conversation. Pure.

Only robots that have seen the conversation can reach it (WorkTool addresses groups by name, as the
robot sees them). Among those: the needed role, enabled, on shift, not offline; then a robot whose last
health check (bot/robots/monitor.py) is not `critical` — a critical one only when no other qualifies —
then the healthiest, then the least queued. `choose_robot` also says why, for the command row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.rules.shift import Shift
from bot.settings import RobotRole


@dataclass(frozen=True)
class RobotCandidate:
    id: str
    name: str
    roles: tuple[str, ...]
    shift: Shift
    enabled: bool
    online: bool | None  # None: not known yet
    seen_conversation: bool
    recent_unknown: int  # commands without a result lately
    queued: int
    health_score: int | None = None  # the last health check (rules/health.yaml); None: never checked
    health_status: str | None = None  # excellent | good | warning | critical


@dataclass(frozen=True)
class Choice:
    robot: RobotCandidate
    reason: str  # why this robot, e.g. "health 95 (excellent), 0 queued; over wt-b: critical (15)"


class NoRobotAvailable(Exception):
    """No robot qualifies; the message lists every robot and why it was passed over."""

    def __init__(self, role: str, reasons: dict[str, str]) -> None:
        detail = "; ".join(f"{robot}: {why}" for robot, why in sorted(reasons.items())) or "no robots configured"
        super().__init__(f"no robot can send ({role}) into this conversation — {detail}")
        self.role = role
        self.reasons = reasons


def health(candidate: RobotCandidate) -> int:
    """0-100 for ranking: the last health check, lowered at once by results that never came since (the
    check runs every few minutes); an unknown online state costs a little."""
    score = 100 - min(60, 15 * candidate.recent_unknown)
    score -= 10 if candidate.online is None else 0
    return min(score, candidate.health_score) if candidate.health_score is not None else score


def critical(candidate: RobotCandidate) -> bool:
    return candidate.health_status == "critical"


def _describe(candidate: RobotCandidate) -> str:
    status = f" ({candidate.health_status})" if candidate.health_status else ""
    return f"health {health(candidate)}{status}, {candidate.queued} queued"


def rejection(candidate: RobotCandidate, role: RobotRole, local_now: datetime) -> str | None:
    if not candidate.enabled:
        return "disabled"
    if role not in candidate.roles:
        return f"lacks the {role} role"
    if not candidate.seen_conversation:
        return "has not seen this conversation"
    if candidate.online is False:
        return "offline"
    if not candidate.shift.covers(local_now):
        return f"off shift ({candidate.shift.hours})"
    return None


def select_robot(candidates: Sequence[RobotCandidate], role: RobotRole, local_now: datetime) -> RobotCandidate:
    """The best qualifying robot, or NoRobotAvailable saying why each robot was passed over."""
    return choose_robot(candidates, role, local_now).robot


def choose_robot(candidates: Sequence[RobotCandidate], role: RobotRole, local_now: datetime) -> Choice:
    """The best qualifying robot and why, or NoRobotAvailable saying why each robot was passed over."""
    reasons: dict[str, str] = {}
    fit: list[RobotCandidate] = []
    for candidate in candidates:
        why = rejection(candidate, role, local_now)
        if why is None:
            fit.append(candidate)
        else:
            reasons[candidate.id] = why
    if not fit:
        raise NoRobotAvailable(role, reasons)
    best = min(fit, key=lambda c: (critical(c), -health(c), c.queued, c.id))
    others = [c for c in fit if c is not best]
    reason = _describe(best)
    if critical(best):
        reason += "; critical, but no other robot can send into this conversation"
    avoided = [f"{c.id}: critical ({health(c)})" for c in others if critical(c) and not critical(best)]
    if avoided:
        reason += "; avoided " + ", ".join(avoided)
    elif others:
        reason += f"; best of {len(fit)}"
    if reasons:
        reason += "; passed over " + ", ".join(f"{robot}: {why}" for robot, why in sorted(reasons.items()))
    return Choice(best, reason)
