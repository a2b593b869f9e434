"""Alerts, their levels, events and notifications (DESIGN §3.4).

The database is the truth: an open alert's next step is `next_escalation_at`, guarded by `step_token`
(a step applies only if the token it was scheduled with is still current; every change bumps it, so a
cancel always wins). `open_key` equals `dedup_key` while the alert is open and NULL afterwards: a unique
column, so there is one open alert per key on SQLite and PostgreSQL alike.

A notification row `(alert, level, channel, recipient)` is unique and written before anything is sent;
it moves pending → sending (committed before the request) → sent/delivered | failed | unknown | skipped.
A row found `sending` after a crash becomes `unknown`: it may have gone out, so it is never re-sent.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bot import limits


class AlertStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class CancelReason(StrEnum):
    STAFF_INTERVENED = "staff_intervened"
    USER_RESPONDED = "user_responded"
    RESOLVED = "resolved"
    MANUAL = "manual"
    EXPIRED = "expired"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


class AlertLevel(Model):
    """Seeded from the alerts rule file at start-up (what the API and dashboard show)."""

    level = fields.SmallIntField(primary_key=True)
    name = fields.CharField(max_length=limits.LABEL_CHARS)
    after_minutes = fields.FloatField()
    channels: fields.Field[list[str]] = fields.JSONField(default=list)
    recipients: fields.Field[list[str]] = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "alert_levels"


class Alert(Model):
    id = fields.BigIntField(primary_key=True)
    # Written by the opener: tells "mine" from a racing twin.
    uid = fields.CharField(max_length=limits.UID_CHARS, unique=True)
    kind = fields.CharField(max_length=limits.KIND_CHARS)
    dedup_key = fields.CharField(max_length=limits.ALERT_KEY_CHARS, db_index=True)
    open_key = fields.CharField(max_length=limits.ALERT_KEY_CHARS, null=True, unique=True)
    conversation_id = fields.BigIntField(null=True)
    subject = fields.CharField(max_length=limits.NAME_CHARS, default="")  # the user, robot or task it is about
    title = fields.CharField(max_length=limits.ALERT_TITLE_CHARS)
    detail = fields.TextField(default="")
    level = fields.SmallIntField(default=1)
    max_level = fields.SmallIntField(default=1)
    status = fields.CharEnumField(AlertStatus, max_length=limits.STATE_CHARS, default=AlertStatus.OPEN)
    occurrences = fields.IntField(default=1)
    escalation_count = fields.IntField(default=0)
    policy: fields.Field[dict[str, object]] = fields.JSONField()  # levels, recipients... as at opening
    opened_at = fields.DatetimeField()
    last_fired_at = fields.DatetimeField()
    escalated_at = fields.DatetimeField(null=True)
    next_escalation_at = fields.DatetimeField(null=True)
    step_token = fields.IntField(default=1)
    source_message_id = fields.BigIntField(null=True)
    source_command_id = fields.BigIntField(null=True)
    cancel_reason = fields.CharEnumField(CancelReason, max_length=limits.KIND_CHARS, null=True)
    cancel_note = fields.CharField(max_length=limits.REASON_CHARS, null=True)
    cancelled_by = fields.CharField(max_length=limits.NAME_CHARS, null=True)
    cancelled_at = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=limits.NAME_CHARS, null=True)
    claimed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "alerts"
        indexes = (
            ("status", "next_escalation_at"),  # due steps (the sweeper)
            ("conversation_id", "status"),  # a conversation's open alerts
            ("kind", "opened_at"),  # the API and the daily report
            ("opened_at",),
        )


class AlertEvent(Model):
    """What happened to an alert, in order: opened, recurred, escalated, cancelled, claimed."""

    id = fields.BigIntField(primary_key=True)
    alert_id = fields.BigIntField(db_index=True)
    at = fields.DatetimeField()
    action = fields.CharField(max_length=limits.STATE_CHARS)
    level = fields.SmallIntField()
    actor = fields.CharField(max_length=limits.NAME_CHARS, default="system")
    detail = fields.TextField(default="")

    class Meta:
        table = "alert_events"


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    alert_id = fields.BigIntField()
    level = fields.SmallIntField()
    channel = fields.CharField(max_length=limits.KIND_CHARS)
    recipient = fields.CharField(max_length=limits.NAME_CHARS)  # a person's name
    # What one message goes to: the person, "wecom_webhook", "conv:12", "group:<name>".
    target = fields.CharField(max_length=limits.NOTIFICATION_TARGET_CHARS)
    # Set on a fallback: the channel that failed.
    origin_channel = fields.CharField(max_length=limits.KIND_CHARS, null=True)
    status = fields.CharEnumField(NotificationStatus, max_length=limits.STATE_CHARS, default=NotificationStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    due_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    batch = fields.CharField(max_length=limits.UID_CHARS, null=True)  # rows sent as one message share it
    provider = fields.CharField(max_length=limits.STATE_CHARS, null=True)
    provider_id = fields.CharField(max_length=limits.PROVIDER_ID_CHARS, null=True)
    command_id = fields.BigIntField(null=True)  # worktool channels: the robot command carrying it
    error = fields.TextField(null=True)

    class Meta:
        table = "notifications"
        unique_together = (("alert_id", "level", "channel", "recipient"),)
        indexes = (
            ("status", "due_at"),  # due deliveries (the sweeper)
            ("channel", "target", "status", "due_at"),  # one target's due rows (a delivery job)
            ("command_id",),
        )
