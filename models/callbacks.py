"""Raw command-result callbacks, stored before they are matched to commands (fire-once: never lose one)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from bot import limits


class ResultCallback(Model):
    id = fields.BigIntField(primary_key=True)
    robot_id = fields.CharField(max_length=limits.ROBOT_ID_CHARS, db_index=True)
    message_id = fields.CharField(max_length=limits.EXTERNAL_ID_CHARS, db_index=True)  # WorkTool sends 19 digits
    error_code = fields.IntField(null=True)
    received_at = fields.DatetimeField()
    payload: fields.Field[dict[str, object]] = fields.JSONField()
    handled_at = fields.DatetimeField(null=True)  # matched to its command (or found to match none)
    command_id = fields.BigIntField(null=True)

    class Meta:
        table = "result_callbacks"
