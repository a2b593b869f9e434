"""Robot commands (what we asked WorkTool to do) and their lifecycle.

queued → sent → succeeded | failed | unknown. A command is marked `sent` *before* the HTTP request,
so a crash can never lead to a second send; `unknown` (no result within the timeout) is final
for sending purposes: nothing is ever re-sent automatically. Late results still update the row.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bot import limits


class CommandStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


OPEN_STATUSES = (CommandStatus.QUEUED, CommandStatus.SENT)
RESOLVABLE_STATUSES = (CommandStatus.SENT, CommandStatus.UNKNOWN)  # a result callback may still land


class Command(Model):
    id = fields.BigIntField(primary_key=True)
    # One logical reply split into parts shares `reply_key`; each part has its own idempotency key.
    idempotency_key = fields.CharField(max_length=limits.IDEMPOTENCY_KEY_CHARS, unique=True)
    reply_key = fields.CharField(max_length=limits.IDEMPOTENCY_KEY_CHARS)
    part = fields.SmallIntField(default=1)
    parts = fields.SmallIntField(default=1)
    robot_id = fields.CharField(max_length=limits.ROBOT_ID_CHARS)
    conversation_id = fields.BigIntField(null=True)
    purpose = fields.CharField(max_length=limits.KIND_CHARS)  # reply | manual | alert | after_sales | …
    requested_by = fields.CharField(max_length=limits.NAME_CHARS, default="")
    type = fields.IntField()  # WorkTool command type: 203 text, 218 file
    target = fields.CharField(max_length=limits.NAME_CHARS)  # the single titleList entry
    content = fields.TextField(default="")
    at_list: fields.Field[list[str]] = fields.JSONField(default=list)
    extra: fields.Field[dict[str, object]] = fields.JSONField(default=dict)  # 218: objectName, fileUrl, …
    status = fields.CharEnumField(CommandStatus, max_length=limits.STATE_CHARS, default=CommandStatus.QUEUED)
    created_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField(null=True)  # after a request that provably did not reach WorkTool
    send_attempts = fields.SmallIntField(default=0)
    sent_at = fields.DatetimeField(null=True)
    result_due_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    worktool_message_id = fields.CharField(max_length=limits.EXTERNAL_ID_CHARS, null=True)
    batch_index = fields.SmallIntField(null=True)  # position in the sendRawMessage list
    error_code = fields.IntField(null=True)
    error_reason = fields.TextField(null=True)
    time_cost_s = fields.FloatField(null=True)
    success_list: fields.Field[list[str] | None] = fields.JSONField(null=True)
    fail_list: fields.Field[list[str] | None] = fields.JSONField(null=True)
    result_source = fields.CharField(max_length=limits.STATE_CHARS, null=True)  # callback | poll
    late = fields.BooleanField(default=False)  # the result came after the timeout
    # Set with the status change for purposes that have outcome listeners; cleared by the worker's outcome
    # job once the listeners ran for that status (any process may record a result: the worker reacts).
    outcome_due = fields.BooleanField(default=False, db_default=False)
    robot_reason = fields.TextField(null=True)  # why selection chose this robot (bot/commands/selection.py)

    class Meta:
        table = "commands"
        indexes = (
            ("robot_id", "status", "id"),  # a robot's queue
            ("robot_id", "sent_at"),  # pacing: a robot's recent sends
            ("status", "result_due_at"),  # overdue result checks
            ("worktool_message_id",),  # matching result callbacks
            ("conversation_id", "created_at"),  # per-group reply cap
            ("outcome_due", "finished_at"),  # outcomes whose listeners have not run yet
        )
