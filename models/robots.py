"""Robots (WorkTool robotIds registered in config) and their status events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from bot import limits

log = structlog.get_logger(__name__)


class Robot(Model):
    id = fields.CharField(max_length=limits.ROBOT_ID_CHARS, primary_key=True)
    name = fields.CharField(max_length=limits.NAME_CHARS)
    roles: fields.Field[list[str]] = fields.JSONField(default=list)
    enabled = fields.BooleanField(default=True)
    online = fields.BooleanField(null=True)
    last_callback_at = fields.DatetimeField(null=True)
    online_changed_at = fields.DatetimeField(null=True)
    online_checked_at = fields.DatetimeField(null=True)
    # Commands whose result never came (penalises the robot in selection; health scoring builds on it).
    unknown_results = fields.IntField(default=0)
    last_unknown_at = fields.DatetimeField(null=True)
    # The latest health check (bot/robots/monitor.py; its history is RobotHealth).
    health_score = fields.SmallIntField(null=True)
    health_status = fields.CharField(max_length=limits.STATE_CHARS, null=True)  # excellent|good|warning|critical
    health_checked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "robots"


class RobotHealth(Model):
    """A snapshot of a robot's health (rules/health.yaml), taken every few minutes by the worker."""

    id = fields.BigIntField(primary_key=True)
    robot_id = fields.CharField(max_length=limits.ROBOT_ID_CHARS)
    checked_at = fields.DatetimeField()
    score = fields.SmallIntField()
    status = fields.CharField(max_length=limits.STATE_CHARS)
    components: fields.Field[list[dict[str, object]]] = fields.JSONField()
    recommendations: fields.Field[list[str]] = fields.JSONField()
    critical_since = fields.DatetimeField(null=True)  # start of the run of critical snapshots this one is in
    rules_version = fields.CharField(max_length=limits.VERSION_CHARS, null=True)

    class Meta:
        table = "robot_health"
        indexes = (("robot_id", "checked_at"), ("checked_at",))


class RobotStatusEvent(Model):
    """A change of a robot's online state: a raw status callback (its body is undocumented, so all of
    it is kept) or a change seen by polling robotInfo online."""

    id = fields.BigIntField(primary_key=True)
    robot: fields.ForeignKeyRelation[Robot] = fields.ForeignKeyField(
        "models.Robot", related_name="status_events", on_delete=fields.CASCADE
    )
    received_at = fields.DatetimeField(db_index=True)
    online = fields.BooleanField(null=True)
    payload: fields.Field[dict[str, object]] = fields.JSONField()
    source = fields.CharField(max_length=limits.STATE_CHARS, default="callback")  # callback | poll

    class Meta:
        table = "robot_status_events"


async def record_online(
    robot: Robot, online: bool | None, now: datetime, *, source: str, payload: dict[str, object]
) -> bool:
    """Store a robot's online state; a change is logged and kept in its history. True if it changed."""
    changed = online is not None and online != robot.online
    changes: dict[str, Any] = {"online_checked_at": now} if source == "poll" else {}
    if changed:
        changes.update(online=online, online_changed_at=now)
    if changes:
        await Robot.filter(id=robot.id).update(**changes)
    if changed or source == "callback":
        await RobotStatusEvent.create(robot_id=robot.id, received_at=now, online=online, payload=payload, source=source)
    if changed:
        emit = log.info if online else log.warning
        emit("robot online state changed", robot_id=robot.id, online=online, source=source)
    return changed


async def note_callback(robot_id: str, at: datetime) -> None:
    """The robot reported a message at `at` (never moves the time backwards; outside any long transaction:
    every conversation's processing touches the same few robot rows)."""
    await Robot.filter(Q(id=robot_id) & (Q(last_callback_at__isnull=True) | Q(last_callback_at__lt=at))).update(
        last_callback_at=at
    )
