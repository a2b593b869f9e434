"""Robot health end to end on both databases and an injected clock: a robot whose results stop coming back
drifts to critical, opens robot_unhealthy once, loses traffic to a healthy robot in the same group, and
recovers (alert resolved) when its results come back. Command rows are made directly, as the dispatcher
and the result matcher leave them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.commands.service import OutgoingText
from jobs.health import check_robot_health
from models.alerts import Alert, AlertStatus, CancelReason
from models.commands import Command, CommandStatus
from models.conversations import Conversation, ConversationRobot
from models.robots import Robot, RobotHealth, record_online
from tests.jobs.deps import worker_deps

EVERY = timedelta(minutes=5)  # health.every_s in config.yaml
_keys = count(1)


@pytest.fixture
async def ctx(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[dict[str, Any]]:
    async with worker_deps(db_url, redis_url, tmp_path, clock, services=True) as deps:
        await Robot.filter(id__in=["wt-robot-1", "wt-robot-2"]).update(online=True, online_changed_at=clock.now())
        group = await Conversation.create(kind="group", key="客户群1", name="客户群1", created_at=clock.now())
        for robot_id in ("wt-robot-1", "wt-robot-2"):
            await ConversationRobot.create(conversation_id=group.id, robot_id=robot_id, first_seen_at=clock.now())
        yield {"deps": deps, "group": group.id}


async def finished(clock: FrozenClock, robot_id: str, status: CommandStatus, n: int) -> list[Command]:
    rows = []
    for _ in range(n):
        key = f"h{next(_keys)}"
        rows.append(
            await Command.create(
                idempotency_key=f"{key}#1",
                reply_key=key,
                robot_id=robot_id,
                purpose="reply",
                type=203,
                target="客户群1",
                status=status,
                created_at=clock.now() - timedelta(minutes=1),
                sent_at=clock.now() - timedelta(minutes=1),
                finished_at=clock.now(),
                time_cost_s=2.0 if status is CommandStatus.SUCCEEDED else None,
            )
        )
    return rows


async def latest(robot_id: str) -> RobotHealth:
    return await RobotHealth.filter(robot_id=robot_id).order_by("-checked_at", "-id").first()  # type: ignore[return-value]


async def check(ctx: dict[str, Any], clock: FrozenClock) -> dict[str, tuple[int, str]]:
    clock.advance(EVERY)
    assert await check_robot_health(ctx) == 2
    return {robot_id: ((h := await latest(robot_id)).score, h.status) for robot_id in ("wt-robot-1", "wt-robot-2")}


async def send(ctx: dict[str, Any], robot_id: str | None = None) -> Command:
    out = OutgoingText(
        conversation_id=ctx["group"],
        text="您好",
        reply_key=f"s{next(_keys)}",
        purpose="after_sales",
        requested_by="test",
        role="after_sales",
        robot_id=robot_id,
    )
    queued = await ctx["deps"].services.commands.send_text(out)
    return await Command.get(id=queued.command_ids[0])


async def unhealthy() -> list[Alert]:
    return await Alert.filter(kind="robot_unhealthy").order_by("id")


async def test_a_robot_whose_results_stop_goes_critical_alerts_once_loses_traffic_and_recovers(
    ctx: dict[str, Any], clock: FrozenClock
) -> None:
    await finished(clock, "wt-robot-1", CommandStatus.SUCCEEDED, 5)
    await finished(clock, "wt-robot-2", CommandStatus.SUCCEEDED, 5)
    assert await check(ctx, clock) == {"wt-robot-1": (100, "excellent"), "wt-robot-2": (100, "excellent")}
    assert await check_robot_health(ctx) == 0  # checked less than every_s ago
    assert (await send(ctx)).robot_id == "wt-robot-1"  # equally healthy: the first

    lost = await finished(clock, "wt-robot-1", CommandStatus.UNKNOWN, 12)  # results stop coming back
    first = await check(ctx, clock)
    assert first["wt-robot-1"][1] == "critical"
    assert first["wt-robot-2"] == (100, "excellent")
    snapshot = await latest("wt-robot-1")
    assert "近1小时12条指令无结果回调，请检查手机端WorkTool是否在前台运行" in snapshot.recommendations
    assert await unhealthy() == []  # critical, but not yet for unhealthy_after_minutes (10)
    await check(ctx, clock)
    assert await unhealthy() == []
    await check(ctx, clock)  # critical for 10 minutes
    await check(ctx, clock)
    alerts = await unhealthy()
    assert [(a.subject, a.status) for a in alerts] == [("wt-robot-1", AlertStatus.OPEN)]  # once

    moved = await send(ctx)
    assert moved.robot_id == "wt-robot-2"
    assert "avoided wt-robot-1: critical" in str(moved.robot_reason)
    forced = await send(ctx, robot_id="wt-robot-1")  # the only one allowed: used all the same
    assert "critical, but no other robot can send into this conversation" in str(forced.robot_reason)

    await Command.filter(id__in=[c.id for c in lost]).update(status=CommandStatus.SUCCEEDED, late=True, time_cost_s=3.0)
    recovered = await check(ctx, clock)
    assert recovered["wt-robot-1"] == (100, "excellent")
    alert = (await unhealthy())[0]
    assert (alert.status, alert.cancel_reason) == (AlertStatus.CANCELLED, CancelReason.RESOLVED)
    assert "critical" not in str((await send(ctx)).robot_reason)  # by queue length again
    assert (await Robot.get(id="wt-robot-1")).health_status == "excellent"


async def test_flapping_and_silent_robots_and_snapshot_retention(ctx: dict[str, Any], clock: FrozenClock) -> None:
    old = await RobotHealth.create(
        robot_id="wt-robot-1",
        checked_at=clock.now() - timedelta(days=31),
        score=50,
        status="warning",
        components=[],
        recommendations=[],
    )
    await finished(clock, "wt-robot-2", CommandStatus.SUCCEEDED, 5)
    for online in (False, True, False, True, False, True):  # three times offline within the hour
        clock.advance(timedelta(minutes=1))
        robot = await Robot.get(id="wt-robot-1")
        await record_online(robot, online, clock.now(), source="poll", payload={})
    scores = await check(ctx, clock)
    snapshot = await latest("wt-robot-1")
    assert scores["wt-robot-1"] == (82, "good")
    assert snapshot.recommendations == ["近1小时离线3次，请检查网络/电量"]
    assert not await RobotHealth.filter(id=old.id).exists()  # older than health.retention_days
