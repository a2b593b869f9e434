"""Alert changes written for many rows with few statements.

A storm makes thousands of alerts due at once (167 steps/s in `make bench-alerts --window 60`). Built
with the ORM one alert at a time, each step cost ~10 statements and ~10 ms of worker CPU, most of it
query building. Here the statements are prepared once and executed for a whole batch (`executemany`):
the placeholders differ per dialect, the values are what tortoise itself would send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.alerts.policy import Policy, plan_level, target_of
from bot.rules.people import Directory
from models.alerts import Alert, AlertEvent, AlertStatus, NotificationStatus

# Rows per statement: SQLite allows 32,766 parameters, PostgreSQL 32,767 (9 per step, 3 per claim).
MAX_ROWS: Final = 1000


def placeholders(conn: BaseDBAsyncClient, count: int) -> list[str]:
    """`?` for SQLite, `$1..$n` for PostgreSQL (asyncpg)."""
    if conn.capabilities.dialect == "sqlite":
        return ["?"] * count
    return [f"${n}" for n in range(1, count + 1)]


def db_time(value: datetime | None) -> datetime | None:
    """UTC, as the ORM writes it (SQLite compares the ISO text: every writer must use one offset)."""
    return None if value is None else value.astimezone(UTC)


@dataclass(frozen=True)
class StepUpdate:
    """An open alert moved up a level by its due step (token `token` → `token + 1`)."""

    alert_id: int
    token: int
    level: int
    max_level: int
    escalated_at: datetime
    next_due: datetime | None


async def write_steps(conn: BaseDBAsyncClient, updates: Sequence[StepUpdate]) -> None:
    """One prepared UPDATE for every stepped alert. The caller holds the rows (SQLite's write lock, or
    PostgreSQL's FOR UPDATE), so the guard `(status, step_token)` only repeats what it checked."""
    if not updates:
        return
    p = placeholders(conn, 7)
    sql = (
        f"UPDATE alerts SET level={p[0]}, max_level={p[1]}, escalation_count=escalation_count+1, "  # noqa: S608
        f"escalated_at={p[2]}, next_escalation_at={p[3]}, step_token={p[4]} "
        f"WHERE id={p[5]} AND step_token={p[6]} AND status='{AlertStatus.OPEN.value}'"
    )
    values = [
        [u.level, u.max_level, db_time(u.escalated_at), db_time(u.next_due), u.token + 1, u.alert_id, u.token]
        for u in updates
    ]
    for first in range(0, len(values), MAX_ROWS):
        await conn.execute_many(sql, values[first : first + MAX_ROWS])


async def claim_rows(conn: BaseDBAsyncClient, claims: Sequence[tuple[int, str]], now: datetime) -> None:
    """pending → sending, each row under its batch (one message's rows share a batch). A row another
    worker claimed first is left alone: the caller reads back what it got by batch."""
    if not claims:
        return
    p = placeholders(conn, 3)
    sql = (
        f"UPDATE notifications SET status='{NotificationStatus.SENDING.value}', claimed_at={p[0]}, "  # noqa: S608
        f"batch={p[1]}, attempts=attempts+1 WHERE id={p[2]} AND status='{NotificationStatus.PENDING.value}'"
    )
    at = db_time(now)
    values = [[at, batch, row_id] for row_id, batch in claims]
    for first in range(0, len(values), MAX_ROWS):
        await conn.execute_many(sql, values[first : first + MAX_ROWS])


@dataclass(frozen=True)
class SentBatch:
    batch: str
    row_ids: tuple[int, ...]
    provider: str
    provider_id: str | None
    command_id: int | None = None


async def mark_sent(conn: BaseDBAsyncClient, sent: Sequence[SentBatch], now: datetime) -> None:
    """sending → sent for every row of every batch a provider took, in one prepared statement (by id:
    the batch column has no index)."""
    p = placeholders(conn, 6)
    sql = (
        f"UPDATE notifications SET status='{NotificationStatus.SENT.value}', sent_at={p[0]}, "  # noqa: S608
        f"provider={p[1]}, provider_id={p[2]}, command_id={p[3]}, error=NULL "
        f"WHERE id={p[4]} AND batch={p[5]} AND status='{NotificationStatus.SENDING.value}'"
    )
    at = db_time(now)
    values = [[at, s.provider, s.provider_id, s.command_id, row_id, s.batch] for s in sent for row_id in s.row_ids]
    for first in range(0, len(values), MAX_ROWS):
        await conn.execute_many(sql, values[first : first + MAX_ROWS])


async def insert_events(conn: BaseDBAsyncClient, events: Sequence[AlertEvent]) -> None:
    """The events, with one prepared INSERT (tortoise's bulk_create converts every field of every row)."""
    if not events:
        return
    marks = ", ".join(placeholders(conn, 6))
    sql = f"INSERT INTO alert_events (alert_id, at, action, level, actor, detail) VALUES ({marks})"  # noqa: S608
    values = [[e.alert_id, db_time(e.at), e.action, e.level, e.actor, e.detail] for e in events]
    for first in range(0, len(values), MAX_ROWS):
        await conn.execute_many(sql, values[first : first + MAX_ROWS])


async def insert_notifications(conn: BaseDBAsyncClient, rows: Sequence[NewNotification]) -> None:
    """New notification rows, one prepared INSERT; a row that exists (same alert, level, channel and
    recipient: a step that ran twice) is left as it is."""
    if not rows:
        return
    columns = "alert_id, level, channel, recipient, target, status, attempts, error, due_at, created_at, finished_at"
    marks = ", ".join(placeholders(conn, 11))
    sql = f"INSERT INTO notifications ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    values = [
        [
            r.alert_id,
            r.level,
            r.channel,
            r.recipient,
            r.target,
            str(r.status.value),
            0,
            r.error,
            db_time(r.due_at),
            db_time(r.created_at),
            db_time(r.finished_at),
        ]
        for r in rows
    ]
    for first in range(0, len(values), MAX_ROWS):
        await conn.execute_many(sql, values[first : first + MAX_ROWS])


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification row to insert (a plain record: a tortoise Model costs ~20 µs to build)."""

    alert_id: int
    level: int
    channel: str
    recipient: str
    target: str
    status: NotificationStatus
    error: str | None
    due_at: datetime
    created_at: datetime
    finished_at: datetime | None


def notification_rows(
    alert: Alert,
    policy: Policy,
    level: int,
    *,
    now: datetime,
    directory: Directory,
    tz: ZoneInfo,
    managers_group: str | None,
) -> list[NewNotification]:
    """A level's notification rows for one alert (skipped ones included, with the reason)."""
    rows = []
    for planned in plan_level(policy, level, directory, now.astimezone(tz)):
        if planned.channel == "group_reminder" and alert.conversation_id is None:
            continue  # a robot or task alert has no conversation to remind in
        target = target_of(planned.channel, planned.recipient, alert.conversation_id, managers_group)
        skipped = planned.skipped is not None
        rows.append(
            NewNotification(
                alert_id=alert.id,
                level=level,
                channel=planned.channel,
                recipient=planned.recipient,
                target=target,
                status=NotificationStatus.SKIPPED if skipped else NotificationStatus.PENDING,
                error=planned.skipped,
                due_at=now,
                created_at=now,
                finished_at=now if skipped else None,
            )
        )
    return rows
