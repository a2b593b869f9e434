"""Checking every robot's health: gather what was observed of it lately, score it (bot/robots/health.py),
keep a snapshot (RobotHealth, and the latest on the Robot row for selection and /api/robots), prune old
snapshots, and open or resolve `robot_unhealthy`.

Callbacks counted for silence: the messages a robot reported first (InboundMessage.robot_id) and the ones it
reported after another robot (MessageSighting). "Usual" is their mean over the same window of the day on each
of the previous `silence.baseline_days` days. WorkTool's 429s are not recorded per robot, so the budget
component stays neutral.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Final

import structlog
from tortoise.functions import Count

from bot.alerts.service import AlertService, AlertSpec, Wakeups
from bot.robots.health import Health, Observations, count_flaps, score
from bot.rules.health import HealthFile
from bot.write_lock import write_transaction
from models.alerts import Alert, AlertStatus, CancelReason
from models.commands import Command, CommandStatus
from models.messages import InboundMessage, MessageSighting
from models.robots import Robot, RobotHealth, RobotStatusEvent

log = structlog.get_logger(__name__)
UNHEALTHY: Final = "robot_unhealthy"
FINISHED: Final = (CommandStatus.SUCCEEDED, CommandStatus.FAILED, CommandStatus.UNKNOWN)


@dataclass(frozen=True)
class Checked:
    robot_id: str
    health: Health
    critical_since: datetime | None


async def _callbacks(start: datetime, end: datetime) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for model in (InboundMessage, MessageSighting):
        rows = await (
            model.filter(received_at__gt=start, received_at__lte=end)
            .group_by("robot_id")
            .annotate(n=Count("id"))
            .values_list("robot_id", "n")
        )
        for robot_id, n in rows:
            counts[str(robot_id)] += int(n)
    return counts


async def observe(robots: list[Robot], rules: HealthFile, now: datetime) -> dict[str, Observations]:
    """Every robot's observations over the rules' window ending at `now`."""
    window = timedelta(minutes=rules.window_minutes)
    start = now - window
    states: dict[str, list[bool | None]] = defaultdict(list)
    for robot_id, online in await (
        RobotStatusEvent.filter(received_at__gt=start, received_at__lte=now)
        .order_by("received_at", "id")
        .values_list("robot_id", "online")
    ):
        states[str(robot_id)].append(online)
    results: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    costs: dict[str, list[float]] = defaultdict(list)
    for robot_id, status, cost in await Command.filter(
        finished_at__gt=start, finished_at__lte=now, status__in=list(FINISHED)
    ).values_list("robot_id", "status", "time_cost_s"):
        results[str(robot_id)][str(status)] += 1
        if cost is not None and status == CommandStatus.SUCCEEDED:
            costs[str(robot_id)].append(float(cost))
    recent = await _callbacks(start, now)
    days = rules.silence.baseline_days
    usual: dict[str, float] = defaultdict(float)
    for day in range(1, days + 1):
        back = timedelta(days=day)
        for robot_id, n in (await _callbacks(start - back, now - back)).items():
            usual[robot_id] += n / days
    observed = {}
    for robot in robots:
        before = None
        if states.get(robot.id):
            last = (
                await RobotStatusEvent.filter(robot_id=robot.id, received_at__lte=start)
                .order_by("-received_at", "-id")
                .first()
            )
            before = last.online if last is not None else None
        done = results.get(robot.id, {})
        offline_s = (
            (now - robot.online_changed_at).total_seconds()
            if robot.online is False and robot.online_changed_at is not None
            else 0.0
        )
        observed[robot.id] = Observations(
            online=robot.online,
            offline_s=max(0.0, offline_s),
            flaps=count_flaps(states.get(robot.id, []), before),
            succeeded=done.get(CommandStatus.SUCCEEDED, 0),
            failed=done.get(CommandStatus.FAILED, 0),
            unknown=done.get(CommandStatus.UNKNOWN, 0),
            time_costs=tuple(costs.get(robot.id, ())),
            callbacks=recent.get(robot.id, 0),
            usual_callbacks=usual.get(robot.id, 0.0),
            rate_limit_hits=None,
        )
    return observed


def component_rows(health: Health) -> list[dict[str, object]]:
    return [asdict(c) for c in health.components]


async def check_all(
    rules: HealthFile,
    rules_version: str | None,
    now: datetime,
    *,
    retention: timedelta,
    alerts: AlertService | None = None,
) -> list[Checked]:
    """Score every enabled robot, store the snapshots, prune, and open/resolve robot_unhealthy."""
    robots = await Robot.filter(enabled=True).order_by("id")
    observed = await observe(robots, rules, now)
    checked: list[Checked] = []
    unhealthy_after = timedelta(minutes=rules.unhealthy_after_minutes)
    wake = Wakeups()
    async with write_transaction("robot health") as tx:
        conn = tx.conn
        for robot in robots:
            health = score(observed[robot.id], rules)
            critical_since = None
            if health.status == "critical":
                previous = (
                    await RobotHealth.filter(robot_id=robot.id).using_db(conn).order_by("-checked_at", "-id").first()
                )
                critical_since = (
                    previous.critical_since
                    if previous is not None and previous.status == "critical" and previous.critical_since
                    else now
                )
            await RobotHealth.create(
                robot_id=robot.id,
                checked_at=now,
                score=health.score,
                status=health.status,
                components=component_rows(health),
                recommendations=list(health.recommendations),
                critical_since=critical_since,
                rules_version=rules_version,
                using_db=conn,
            )
            await (
                Robot.filter(id=robot.id)
                .using_db(conn)
                .update(health_score=health.score, health_status=health.status, health_checked_at=now)
            )
            checked.append(Checked(robot.id, health, critical_since))
            if alerts is None:
                continue
            if critical_since is not None and now - critical_since >= unhealthy_after:
                since = critical_since.astimezone(alerts.tz).strftime("%H:%M")
                causes = "；".join(health.recommendations) or "无具体原因"
                spec = AlertSpec(
                    kind=UNHEALTHY,
                    subject=robot.id,
                    where=robot.name,
                    detail=f"{robot.name}（{robot.id}）自 {since} 健康分 {health.score}（critical）：{causes}",
                    recur=False,
                )
                opened = await alerts.open(spec, now, conn, wake)
                if opened.created:
                    log.warning("robot unhealthy", robot_id=robot.id, score=health.score, since=critical_since)
            elif critical_since is None:
                resolved = await alerts.cancel_matching(
                    CancelReason.RESOLVED,
                    actor="system",
                    note=f"robot health back to {health.status} ({health.score})",
                    conn=conn,
                    kinds=(UNHEALTHY,),
                    subject=robot.id,
                )
                if resolved:
                    log.info("robot healthy again", robot_id=robot.id, score=health.score, alerts=resolved)
        pruned = await RobotHealth.filter(checked_at__lt=now - retention).using_db(conn).delete()
    if alerts is not None:
        await alerts.schedule(wake)
    log.info(
        "robot health checked",
        robots={c.robot_id: f"{c.health.score} {c.health.status}" for c in checked},
        pruned=pruned,
    )
    return checked


async def open_unhealthy(robot_id: str) -> Alert | None:
    return await Alert.filter(kind=UNHEALTHY, subject=robot_id, status=AlertStatus.OPEN).first()
