"""Choosing the robot that sends into a conversation. Pure.

Only robots that have seen the conversation can reach it (WorkTool addresses groups by name, as the
robot sees them). Among those: the needed role, enabled, on shift, not offline; then the healthiest,
then the least queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.settings import RobotRole, Shift


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


class NoRobotAvailable(Exception):
    """No robot qualifies; the message lists every robot and why it was passed over."""

    def __init__(self, role: str, reasons: dict[str, str]) -> None:
        detail = "; ".join(f"{robot}: {why}" for robot, why in sorted(reasons.items())) or "no robots configured"
        super().__init__(f"no robot can send ({role}) into this conversation — {detail}")
        self.role = role
        self.reasons = reasons


def health(candidate: RobotCandidate) -> int:
    """0-100 for ranking: results that never came cost the most; an unknown online state costs a little."""
    score = 100 - min(60, 15 * candidate.recent_unknown)
    return score - (10 if candidate.online is None else 0)


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
    return min(fit, key=lambda c: (-health(c), c.queued, c.id))
