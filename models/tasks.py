"""After-sales tasks (DESIGN §3.5), their history, and the stored daily reports (§3.8).

`open_key` is `<conversation>:<user>:<type>` while the task is open and NULL afterwards: one open task
per user and type, on SQLite and PostgreSQL alike. The user-response deadline is `response_due_at`,
guarded by `response_token` like an alert step: a check scheduled with an old token does nothing.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bot import limits


class TaskStatus(StrEnum):
    PENDING = "pending"  # nobody could take it yet (nobody on shift, everyone at their cap)
    ASSIGNED = "assigned"
    WAITING_USER = "waiting_user"  # staff or the bot @-ed the user; waiting for the answer
    IN_PROGRESS = "in_progress"  # the user answered
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_TASK_STATUSES = (TaskStatus.PENDING, TaskStatus.ASSIGNED, TaskStatus.WAITING_USER, TaskStatus.IN_PROGRESS)


class UserResponse(StrEnum):
    PENDING = "pending"
    RESPONDED = "responded"
    REFUSED = "refused"
    TIMEOUT = "timeout"


class Cooperation(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNKNOWN = "unknown"


class AfterSalesTask(Model):
    id = fields.BigIntField(primary_key=True)
    # Written by the creator: tells "mine" from a racing twin.
    uid = fields.CharField(max_length=limits.UID_CHARS, unique=True)
    open_key = fields.CharField(max_length=limits.TASK_KEY_CHARS, null=True, unique=True)
    conversation_id = fields.BigIntField(null=True)
    user = fields.CharField(max_length=limits.NAME_CHARS)  # the owner's display name
    task_type = fields.CharField(max_length=limits.KIND_CHARS)
    skill = fields.CharField(max_length=limits.KIND_CHARS, null=True)
    priority = fields.CharField(max_length=limits.STATE_CHARS, default="normal")
    detail = fields.TextField(default="")
    messages = fields.IntField(default=1)  # the user's messages about it (repeats join the open task)
    source_message_id = fields.BigIntField(null=True)
    status = fields.CharEnumField(TaskStatus, max_length=limits.STATE_CHARS, default=TaskStatus.PENDING)
    assignee = fields.CharField(max_length=limits.NAME_CHARS, null=True)
    auto_assigned_by = fields.CharField(max_length=limits.NAME_CHARS, null=True)  # "auto" or who assigned it by hand
    assignment_reason = fields.CharField(max_length=limits.REASON_CHARS, null=True)
    assigned_at = fields.DatetimeField(null=True)
    reassignments = fields.IntField(default=0)
    user_response_status = fields.CharEnumField(
        UserResponse, max_length=limits.STATE_CHARS, default=UserResponse.PENDING
    )
    user_response_time = fields.DatetimeField(null=True)
    user_response_s = fields.FloatField(null=True)  # from the @ to the answer
    user_cooperation_level = fields.CharEnumField(
        Cooperation, max_length=limits.STATE_CHARS, default=Cooperation.UNKNOWN
    )
    staff_at_user_time = fields.DatetimeField(null=True)  # the @ that started the current wait
    staff_follow_up_time = fields.DatetimeField(null=True)  # the first staff message after assigning
    response_due_at = fields.DatetimeField(null=True)
    response_token = fields.IntField(default=0)
    reminded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    closed_by = fields.CharField(max_length=limits.NAME_CHARS, null=True)
    close_reason = fields.CharField(max_length=limits.REASON_CHARS, null=True)

    class Meta:
        table = "after_sales_tasks"
        indexes = (
            ("status", "assignee"),  # open load per person
            ("conversation_id", "status"),  # a conversation's open tasks (every message of it)
            ("response_due_at",),  # due response checks (the sweeper)
            ("created_at",),  # the daily report
        )


class TaskEvent(Model):
    """What happened to a task: created, joined, assigned, reassigned, at_user, responded, reminded..."""

    id = fields.BigIntField(primary_key=True)
    task_id = fields.BigIntField(db_index=True)
    at = fields.DatetimeField()
    action = fields.CharField(max_length=limits.STATE_CHARS)
    actor = fields.CharField(max_length=limits.NAME_CHARS, default="system")
    detail = fields.TextField(default="")

    class Meta:
        table = "task_events"


class DailyReport(Model):
    """One row per business day: the figures, their renderings, and whether managers got it."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField(unique=True)
    data: fields.Field[dict[str, object]] = fields.JSONField()
    markdown = fields.TextField()
    html = fields.TextField()
    generated_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    delivery_attempts = fields.IntField(default=0)
    delivery_error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)

    class Meta:
        table = "daily_reports"
