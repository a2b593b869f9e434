"""arq cron job: every robot's health, every `health.every_s` (bot/robots/monitor.py does the work)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.robots.monitor import check_all
from bot.rules.health import HealthFile
from jobs.processing import WorkerDeps
from models.robots import Robot


async def check_robot_health(ctx: dict[str, Any]) -> int:
    """Cron (every minute): score the robots if the last check is `health.every_s` old; the robots scored."""
    deps: WorkerDeps = ctx["deps"]
    settings = deps.settings.health
    now = deps.clock.now()
    checked_at = await Robot.filter(enabled=True).values_list("health_checked_at", flat=True)
    every = timedelta(seconds=settings.every_s)
    if checked_at and all(at is not None and now - at < every for at in checked_at):  # type: ignore[operator]
        return 0
    rules, version = HealthFile(), None
    if deps.services is not None:
        current = deps.services.rules.current
        rules, version = current.health, current.version
    alerts = deps.services.alerts if deps.services is not None else None
    checked = await check_all(rules, version, now, retention=timedelta(days=settings.retention_days), alerts=alerts)
    return len(checked)
