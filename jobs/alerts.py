"""arq jobs of the alerts: the steps due at a time, the deliveries due at a time, and the sweeper that catches
whatever a lost Redis or a killed worker left behind (the due times live in the database)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import structlog
from arq.constants import default_queue_name
from tortoise.functions import Min

from bot import events
from bot.alerts.delivery import Deliverer
from bot.alerts.service import AlertService, AlertSpec, Wakeups
from bot.write_lock import write_transaction
from models.alerts import Alert, AlertStatus, CancelReason, Notification, NotificationStatus
from models.robots import Robot

log = structlog.get_logger(__name__)
GRACE: Final = timedelta(seconds=2)  # a job normally fires on time; the sweeper covers lost ones
SWEEP_LIMIT: Final = 5000
FULL_SWEEP_BEFORE_S: Final = 5  # the sweep in the first seconds of a minute looks at every pending row
RECENT: Final = timedelta(minutes=2)  # the others at the rows due since
SENDING_LIMBO: Final = timedelta(seconds=60)  # beyond the request timeout: the sender died mid-request


def _deliverer(ctx: dict[str, Any]) -> Deliverer:
    deliverer: Deliverer = ctx["deps"].deliverer
    return deliverer


def _service(ctx: dict[str, Any]) -> AlertService:
    return _deliverer(ctx).service


async def alert_step_job(ctx: dict[str, Any], *_legacy: object) -> int:
    """Every step due now (one job per slot of due times; a job queued by an older version carries an
    alert id and token, which the batch covers). Returns how many alerts it stepped."""
    stepped = await _service(ctx).step_due()
    if stepped:  # committed (escalated or expired): a live event for the web console (bot/events.py)
        await events.publish(ctx["deps"].redis, "alert", action="stepped", alerts=len(stepped))
    return len(stepped)


async def deliver_alerts_job(ctx: dict[str, Any], *_legacy: object) -> int:
    """Every delivery due now (one job per gather slot; an older version's job names a target)."""
    return await _deliverer(ctx).deliver_due()


async def sweep_alerts(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: re-schedule overdue steps and deliveries, settle rows left `sending`, watch robots' state."""
    deliverer = _deliverer(ctx)
    service = deliverer.service
    now = service.clock.now()
    wake = Wakeups()
    steps = await (
        Alert.filter(status=AlertStatus.OPEN, next_escalation_at__lte=now - GRACE)
        .order_by("next_escalation_at")
        .limit(SWEEP_LIMIT)
        .values_list("id", "step_token", "next_escalation_at")
    )
    for alert_id, token, due in steps:
        wake.step(int(alert_id), int(token), due)
    # One row per target, not per notification: rows held by a send limit stay due (thousands in a storm:
    # grouping 50,000 took 150 ms). Every pending row once a minute; in between only the recent ones.
    query = Notification.filter(status=NotificationStatus.PENDING, due_at__lte=now - GRACE)
    if now.second >= FULL_SWEEP_BEFORE_S:
        query = query.filter(due_at__gte=now - RECENT)
    pending = await (
        query.group_by("channel", "target")
        .annotate(first=Min("due_at"))
        .limit(SWEEP_LIMIT)
        .values_list("channel", "target", "first")
    )
    for channel, target, due in pending:
        wake.deliver(str(channel), str(target), due)
    limbo = timedelta(seconds=service.settings.alerts.request_timeout_s) + SENDING_LIMBO
    settled = await Notification.filter(status=NotificationStatus.SENDING, claimed_at__lte=now - limbo).update(
        status=NotificationStatus.UNKNOWN,
        finished_at=now,
        error="the sender stopped mid-request; it may have gone out, so it is not sent again",
    )
    robots = await watch_robots(service, wake)
    # Re-offering a job that is still waiting is a no-op, but costs Redis round trips: skip those.
    queued = (
        frozenset(i.decode() for i in await service.redis.zrange(default_queue_name, 0, -1)) if wake else frozenset()
    )
    await service.schedule(wake, already_queued=queued)
    if steps or pending or settled or robots:
        log.info(
            "alert sweep",
            steps=len(steps),
            deliveries=len(pending),
            unknown=settled,
            robot_alerts=robots,
        )
    return {"steps": len(steps), "deliveries": len(pending), "unknown": settled, "robot_alerts": robots}


async def watch_robots(service: AlertService, wake: Wakeups) -> int:
    """Open `robot_offline` for robots offline longer than the rules allow; resolve it when they are back."""
    now = service.clock.now()
    after = timedelta(seconds=service.rules.robot_offline_after_s)
    changed = 0
    async with write_transaction("robot alerts") as tx:
        conn = tx.conn
        offline = await Robot.filter(enabled=True, online=False, online_changed_at__lte=now - after).using_db(conn)
        for robot in offline:
            since = robot.online_changed_at.astimezone(service.tz).strftime("%H:%M") if robot.online_changed_at else "?"
            spec = AlertSpec(
                kind="robot_offline",
                subject=robot.id,
                where=robot.name,
                detail=f"{robot.name}（{robot.id}）自 {since} 离线",
                recur=False,
            )
            changed += (await service.open(spec, now, conn, wake)).created
        back = await (
            Alert.filter(kind="robot_offline", status=AlertStatus.OPEN).using_db(conn).values_list("subject", flat=True)
        )
        if back:
            online = await Robot.filter(id__in=list(back), online=True).using_db(conn).values_list("id", flat=True)
            for robot_id in online:
                changed += len(
                    await service.cancel_matching(
                        CancelReason.RESOLVED,
                        actor="system",
                        note="robot back online",
                        conn=conn,
                        kinds=("robot_offline",),
                        subject=str(robot_id),
                    )
                )
    return changed
