"""Robots (WorkTool robotIds registered in config) and their status events."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Robot(Model):
    id = fields.CharField(max_length=64, primary_key=True)
    name = fields.CharField(max_length=128)
    roles: fields.Field[list[str]] = fields.JSONField(default=list)
    enabled = fields.BooleanField(default=True)
    online = fields.BooleanField(null=True)
    last_callback_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "robots"


class RobotStatusEvent(Model):
    """A raw online or offline callback (its body is undocumented, so all of it is kept)."""

    id = fields.BigIntField(primary_key=True)
    robot: fields.ForeignKeyRelation[Robot] = fields.ForeignKeyField(
        "models.Robot", related_name="status_events", on_delete=fields.CASCADE
    )
    received_at = fields.DatetimeField(db_index=True)
    online = fields.BooleanField(null=True)
    payload: fields.Field[dict[str, object]] = fields.JSONField()

    class Meta:
        table = "robot_status_events"
