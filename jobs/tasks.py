"""arq jobs of the after-sales tasks: the user-response deadline, and the sweeper (reassignment, waiting
tasks, overdue alerts, lost response checks)."""

from __future__ import annotations

from typing import Any

import structlog

from bot.tasks.service import TaskService

log = structlog.get_logger(__name__)


def _tasks(ctx: dict[str, Any]) -> TaskService:
    tasks: TaskService | None = ctx["deps"].services.tasks
    assert tasks is not None  # the jobs are registered only with the service
    return tasks


async def task_response_check_job(ctx: dict[str, Any], task_id: int, token: int) -> str:
    return await _tasks(ctx).check_response(task_id, token)


async def sweep_tasks(ctx: dict[str, Any]) -> dict[str, int]:
    counts = await _tasks(ctx).sweep()
    if any(counts.values()):
        log.info("task sweep", **counts)
    return counts
