"""How cooperative a user was about an after-sales task, from how they answered. Pure."""

from __future__ import annotations

from models.tasks import Cooperation


def cooperation_level(*, refused: bool, latency_s: float, high_within_minutes: float, reminded: bool) -> Cooperation:
    """Low: refused (or, elsewhere, no answer after a reminder). High: answered within
    `high_within_minutes` without needing a reminder. Medium: answered, but late or after a reminder."""
    if refused:
        return Cooperation.LOW
    if latency_s <= high_within_minutes * 60 and not reminded:
        return Cooperation.HIGH
    return Cooperation.MEDIUM
