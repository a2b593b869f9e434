"""Rows written straight into the database for the report tests, at stated Asia/Shanghai times."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from models.alerts import Alert, AlertStatus, CancelReason
from models.commands import Command, CommandStatus
from models.conversations import Conversation, ConversationRobot
from models.messages import InboundMessage, ProcessingState
from models.robots import Robot
from models.tasks import AfterSalesTask, TaskStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
_keys = itertools.count(1)


def local(day: int, hour: int, minute: int = 0, second: int = 0, *, month: int = 11) -> datetime:
    """2026-<month>-<day> hh:mm:ss in Asia/Shanghai."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


async def conversation(name: str, *, kind: str = "group", robots: tuple[str, ...] = ()) -> Conversation:
    created = await Conversation.create(kind=kind, key=name, name=name, created_at=local(1, 0))
    for robot_id in robots:
        await ConversationRobot.create(conversation=created, robot_id=robot_id, first_seen_at=local(1, 0))
    return created


async def message(
    conv: Conversation,
    at: datetime,
    *,
    sender: str = "号主A",
    role: str = "user",
    type_: str | None = "chat_daily",
    case: str | None = "no_staff_needed",
    text: str = "你好",
) -> InboundMessage:
    return await InboundMessage.create(
        conversation=conv,
        robot_id="wt-robot-1",
        sender_name=sender,
        text=text,
        raw_text=text,
        content_hash=uuid.uuid4().hex,
        received_at=at,
        payload={},
        state=ProcessingState.PROCESSED,
        sender_role=role,
        type=type_,
        intervention_case=case,
        is_staff_intervention=case == "staff_took_over",
    )


async def task(created_at: datetime, **fields: Any) -> AfterSalesTask:
    status = TaskStatus.PENDING
    if fields.get("assigned_at") is not None:
        status = TaskStatus.ASSIGNED
    if fields.get("completed_at") is not None:
        status = TaskStatus.COMPLETED
    if fields.get("cancelled_at") is not None:
        status = TaskStatus.CANCELLED
    values: dict[str, Any] = {
        "uid": uuid.uuid4().hex,
        "user": "号主A",
        "task_type": "扫码",
        "status": status,
        "created_at": created_at,
        "updated_at": created_at,
    }
    return await AfterSalesTask.create(**(values | fields))


async def alert(
    kind: str,
    opened_at: datetime,
    *,
    max_level: int = 1,
    reason: CancelReason | None = None,
    cancelled_at: datetime | None = None,
    conversation_id: int | None = None,
) -> Alert:
    key = f"{kind}:{next(_keys)}"
    return await Alert.create(
        uid=uuid.uuid4().hex,
        kind=kind,
        dedup_key=key,
        open_key=None if reason else key,
        conversation_id=conversation_id,
        title=kind,
        level=max_level,
        max_level=max_level,
        status=AlertStatus.CANCELLED if reason else AlertStatus.OPEN,
        policy={},
        opened_at=opened_at,
        last_fired_at=opened_at,
        cancel_reason=reason,
        cancelled_at=cancelled_at,
    )


async def command(
    robot_id: str,
    created_at: datetime,
    status: CommandStatus,
    *,
    time_cost_s: float | None = None,
    purpose: str = "reply",
    reply_key: str | None = None,
    conversation_id: int | None = None,
) -> Command:
    n = next(_keys)
    key = reply_key or f"test:{n}"
    return await Command.create(
        idempotency_key=f"{key}#{n}",
        reply_key=key,
        robot_id=robot_id,
        conversation_id=conversation_id,
        purpose=purpose,
        type=203,
        target="客户群1",
        content="好的",
        status=status,
        created_at=created_at,
        time_cost_s=time_cost_s,
    )


async def robot(robot_id: str, name: str, *, online: bool | None = None, unknown_results: int = 0) -> Robot:
    found, _ = await Robot.update_or_create(
        id=robot_id,
        defaults={"name": name, "roles": ["reply", "alert"], "online": online, "unknown_results": unknown_results},
    )
    return found
