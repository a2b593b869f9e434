"""arq jobs of the after-sales tasks: the user-response deadline, and the sweeper (reassignment, waiting
tasks, overdue alerts, lost response checks)."""

from __future__ import annotations

from typing import Any

import structlog

from bot import events
from bot.tasks.service import TaskService

log = structlog.get_logger(__name__)


def _tasks(ctx: dict[str, Any]) -> TaskService:
    tasks: TaskService | None = ctx["deps"].services.tasks
    assert tasks is not None  # the jobs are registered only with the service
    return tasks


async def task_response_check_job(ctx: dict[str, Any], task_id: int, token: int) -> str:
    outcome = await _tasks(ctx).check_response(task_id, token)
    if outcome not in ("stale", "early"):  # committed: a live event for the web console (bot/events.py)
        await events.task_changed(ctx["deps"].redis, task_id, outcome)
    return outcome


async def sweep_tasks(ctx: dict[str, Any]) -> dict[str, int]:
    counts = await _tasks(ctx).sweep()
    if any(counts.values()):
        log.info("task sweep", **counts)
        await events.publish(ctx["deps"].redis, "task", action="sweep")  # committed: a live event for the console
    return counts
