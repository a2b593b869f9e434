"""What to do once a transaction has committed: one type for every writer, applied in one place.

A step, a service method or a job adds to an `Effects` while it writes; nothing here touches Redis until
the transaction has committed and the caller calls `apply()`. Then it wakes the robots whose commands
were queued, schedules the alert steps and deliveries (`Wakeups`, the alerts' part), the after-sales
response checks, and notes when each robot last reported. Anything lost on the way (Redis down, a
killed worker) is found again by the sweepers: these are wake-ups, never the only copy of a decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.alerts.service import Wakeups
from models.robots import note_callback

if TYPE_CHECKING:
    from bot.alerts.service import AlertService


class _Waker(Protocol):
    async def wake(self, robot_id: str) -> None: ...


class _CheckScheduler(Protocol):
    async def schedule_checks(self, checks: dict[int, tuple[int, datetime]]) -> None: ...


@dataclass
class Effects:
    robots: set[str] = field(default_factory=set)  # robots with commands queued: wake their dispatcher
    alerts: Wakeups = field(default_factory=Wakeups)  # alert steps and deliveries to schedule
    task_checks: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # task -> (token, due)
    heard: dict[str, datetime] = field(default_factory=dict)  # robot -> its latest report

    def hear(self, robot_id: str, at: datetime) -> None:
        self.heard[robot_id] = max(at, self.heard.get(robot_id, at))

    def merge(self, other: Effects) -> None:
        self.robots |= other.robots
        self.alerts.merge(other.alerts)
        self.task_checks.update(other.task_checks)
        for robot_id, at in other.heard.items():
            self.hear(robot_id, at)

    def __bool__(self) -> bool:
        return bool(self.robots or self.alerts or self.task_checks or self.heard)

    async def apply(
        self,
        *,
        commands: _Waker | None,
        alerts: AlertService | None,
        tasks: _CheckScheduler | None,
    ) -> None:
        """After the commit: each part to whoever schedules it (None: that part is not run here)."""
        for robot_id, at in self.heard.items():
            await note_callback(robot_id, at)
        if commands is not None:
            for robot_id in sorted(self.robots):
                await commands.wake(robot_id)
        if alerts is not None and self.alerts:
            await alerts.schedule(self.alerts)
        if tasks is not None and self.task_checks:
            await tasks.schedule_checks(self.task_checks)
