"""arq jobs of the commands layer: dispatching robot queues, the 60-second result check, the sweeper
for anything a lost Redis or a killed worker left behind, and polling robots' online state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from bot.commands.dispatch import CommandDeps, dispatch_robot
from bot.commands.results import check_results, match_result
from bot.queue import enqueue_dispatch, enqueue_result_check
from bot.worktool.client import WorkToolError
from models.callbacks import ResultCallback
from models.commands import Command, CommandStatus
from models.robots import Robot, record_online

log = structlog.get_logger(__name__)
CHECK_GRACE = timedelta(seconds=2)  # a check job normally fires on time; the sweeper covers lost ones
RESULT_RETRY_HORIZON = timedelta(days=1)


def _deps(ctx: dict[str, Any]) -> CommandDeps:
    deps: CommandDeps = ctx["deps"].commands
    return deps


async def dispatch_robot_job(ctx: dict[str, Any], robot_id: str) -> int:
    return await dispatch_robot(_deps(ctx), robot_id)


async def check_results_job(ctx: dict[str, Any]) -> int:
    deps = _deps(ctx)
    now = deps.clock.now()
    unknown = await check_results(deps.client, now, deps.outcomes)
    upcoming = await Command.filter(status=CommandStatus.SENT, result_due_at__gt=now).order_by("result_due_at").first()
    if upcoming is not None and upcoming.result_due_at is not None:
        # A check that ran early (or covered several batches) leaves the next one scheduled.
        await enqueue_result_check(deps.redis, upcoming.result_due_at, now, str(upcoming.id))
    return unknown


async def command_outcome_job(ctx: dict[str, Any], command_id: int) -> bool:
    """Run the outcome listeners of a command whose result was recorded (by any process)."""
    return await _deps(ctx).outcomes.deliver(command_id)


async def sweep_commands(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: wake robots with sendable queues, run overdue result checks, re-match stored results."""
    deps = _deps(ctx)
    now = deps.clock.now()
    ready = await Command.filter(status=CommandStatus.QUEUED).distinct().values_list("robot_id", flat=True)
    robots = sorted({str(robot_id) for robot_id in ready})
    for robot_id in robots:
        await enqueue_dispatch(deps.redis, robot_id)
    overdue = 0
    if await Command.exists(status=CommandStatus.SENT, result_due_at__lte=now - CHECK_GRACE):
        overdue = await check_results(deps.client, now, deps.outcomes)
    rematched = 0
    for row in await ResultCallback.filter(
        handled_at__isnull=True, received_at__gte=now - RESULT_RETRY_HORIZON
    ).order_by("id"):
        rematched += await match_result(row, now, deps.outcomes) is not None
    outcomes = await deps.outcomes.sweep(now)
    if robots or overdue or rematched:
        log.info("command sweep", robots_woken=len(robots), unknown=overdue, results_matched=rematched)
    return {"robots_woken": len(robots), "unknown": overdue, "results_matched": rematched, "outcomes": outcomes}


async def poll_robots_online(ctx: dict[str, Any]) -> int:
    """Cron: ask WorkTool whether each robot is online, at most every `worktool.online_poll_s`."""
    deps = _deps(ctx)
    interval = deps.settings.worktool.online_poll_s
    if deps.client is None or interval <= 0:
        return 0
    now = deps.clock.now()
    polled = 0
    for robot in await Robot.filter(enabled=True):
        if robot.online_checked_at is not None and now - robot.online_checked_at < timedelta(seconds=interval):
            continue
        try:
            online = await deps.client.is_online(robot.id)
        except WorkToolError as exc:
            log.warning("robot online poll failed", robot_id=robot.id, error=str(exc))
            continue
        polled += 1
        await record_online(robot, online, now, source="poll", payload={"online": online})
    return polled
