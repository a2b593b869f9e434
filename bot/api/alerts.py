"""API of the alerts: list and inspect, the level table, cancel and escalate (DESIGN §4.2, seed plan §9.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tortoise.transactions import in_transaction

from bot import events, limits
from bot.alerts.service import AlertError, AlertService, Wakeups
from bot.api.auth import CALLER, refuse_actor, requires
from bot.api.envelope import ApiError, ok, read_body
from bot.api.params import id_param, int_param, path_id
from bot.api.routes import newest_page
from bot.keys import REDIS
from bot.rules.alerts import ALERT_KINDS, MAX_LEVEL
from models.alerts import Alert, AlertEvent, AlertLevel, AlertStatus, CancelReason, Notification, NotificationStatus

routes = web.RouteTableDef()
ALERTS: Final = web.AppKey("alerts", AlertService)
STATUSES: Final = tuple(s.value for s in AlertStatus)


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    cancel_reason: str = Field(
        min_length=1, max_length=limits.REASON_CHARS, description="why, in words (stored as the note)"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: object) -> object:
        return refuse_actor(data, "cancelled_by")


class EscalateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    escalate_to: int = Field(ge=2, le=MAX_LEVEL)
    escalate_reason: str = Field(min_length=1, max_length=limits.REASON_CHARS)


def _alert_id(request: web.Request) -> int:
    return path_id(request, "alert_id")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_view(alert: Alert) -> dict[str, Any]:
    levels = alert.policy.get("levels") if isinstance(alert.policy, dict) else None
    level_name = levels[alert.level - 1]["name"] if isinstance(levels, list) and len(levels) >= alert.level else None
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "title": alert.title,
        "detail": alert.detail,
        "conversation_id": alert.conversation_id,
        "subject": alert.subject,
        "status": alert.status.value,
        "level": alert.level,
        "level_name": level_name,
        "max_level": alert.max_level,
        "occurrences": alert.occurrences,
        "escalation_count": alert.escalation_count,
        "opened_at": _iso(alert.opened_at),
        "last_fired_at": _iso(alert.last_fired_at),
        "escalated_at": _iso(alert.escalated_at),
        "next_escalation_at": _iso(alert.next_escalation_at),
        "cancel_condition": alert.cancel_reason.value if alert.cancel_reason else None,
        "cancel_reason": alert.cancel_note,
        "cancelled_by": alert.cancelled_by,
        "cancelled_at": _iso(alert.cancelled_at),
        "claimed_by": alert.claimed_by,
        "source_message_id": alert.source_message_id,
        "source_command_id": alert.source_command_id,
    }


@routes.get("/api/alerts")
@requires("staff")
async def list_alerts(request: web.Request) -> web.Response:
    """Filters: status, kind, level, conversation_id, subject, from/to (opened), limit, offset."""
    query = Alert.all()
    status = request.query.get("status")
    if status is not None:
        if status not in STATUSES:
            raise ApiError(400, f"status must be one of {list(STATUSES)}", error="bad_parameter")
        query = query.filter(status=status)
    kind = request.query.get("kind")
    if kind is not None:
        if kind not in ALERT_KINDS:
            raise ApiError(400, f"kind must be one of {list(ALERT_KINDS)}", error="bad_parameter")
        query = query.filter(kind=kind)
    if "level" in request.query:
        query = query.filter(level=int_param(request, "level", 1, 1, MAX_LEVEL))
    if (conversation_id := id_param(request, "conversation_id")) is not None:
        query = query.filter(conversation_id=conversation_id)
    if "subject" in request.query:
        query = query.filter(subject=request.query["subject"])
    return await newest_page(request, query, alert_view, time_field="opened_at")


@routes.get("/api/alerts/{alert_id}")
@requires("staff")
async def get_alert(request: web.Request) -> web.Response:
    alert_id = _alert_id(request)
    alert = await Alert.get_or_none(id=alert_id)
    if alert is None:
        raise ApiError(404, f"alert {alert_id} does not exist", error="not_found")
    events = await AlertEvent.filter(alert_id=alert_id).order_by("id")
    notifications = await Notification.filter(alert_id=alert_id).order_by("id")
    data = alert_view(alert)
    data["policy"] = alert.policy
    data["events"] = [
        {"at": _iso(e.at), "action": e.action, "level": e.level, "actor": e.actor, "detail": e.detail} for e in events
    ]
    data["notifications"] = [
        {
            "id": n.id,
            "level": n.level,
            "channel": n.channel,
            "recipient": n.recipient,
            "status": n.status.value,
            "attempts": n.attempts,
            "fallback_of": n.origin_channel,
            "provider": n.provider,
            "provider_id": n.provider_id,
            "command_id": n.command_id,
            "sent_at": _iso(n.sent_at),
            "error": n.error,
        }
        for n in notifications
    ]
    return ok(data)


@routes.get("/api/alert-levels")
@requires("staff")
async def alert_levels(_request: web.Request) -> web.Response:
    levels = await AlertLevel.all().order_by("level")
    return ok(
        [
            {
                "level": lv.level,
                "name": lv.name,
                "after_minutes": lv.after_minutes,
                "channels": lv.channels,
                "recipients": lv.recipients,
            }
            for lv in levels
        ]
    )


@routes.post("/api/alerts/{alert_id}/cancel")
@requires("staff")
async def cancel_alert(request: web.Request) -> web.Response:
    """Idempotent: cancelling a closed alert answers 200 with how it was closed (`already_closed`)."""
    alert_id = _alert_id(request)
    body = await read_body(request, CancelRequest)
    actor = request[CALLER].name  # the token's or the console account's name, never the body's
    service = request.app[ALERTS]
    async with in_transaction() as conn:
        closed = await service.cancel(alert_id, CancelReason.MANUAL, actor=actor, note=body.cancel_reason, conn=conn)
    if closed.alert is None:
        raise ApiError(404, f"alert {alert_id} does not exist", error="not_found")
    alert = closed.alert
    if closed.done:  # committed: a live event for the web console (bot/events.py)
        await events.alert_changed(request.app[REDIS], alert.id, "cancelled", conversation_id=alert.conversation_id)
    return ok(
        {
            "alert_id": alert.id,
            "cancelled_at": _iso(alert.cancelled_at),
            "cancel_reason": alert.cancel_note,
            "cancel_condition": alert.cancel_reason.value if alert.cancel_reason else None,
            "cancelled_by": alert.cancelled_by,
            "status": alert.status.value,
            "already_closed": not closed.done,
        },
        message="告警已取消" if closed.done else "告警已关闭过",
    )


@routes.post("/api/alerts/{alert_id}/escalate")
@requires("manager")
async def escalate_alert(request: web.Request) -> web.Response:
    alert_id = _alert_id(request)
    body = await read_body(request, EscalateRequest)
    service = request.app[ALERTS]
    wake = Wakeups()
    try:
        async with in_transaction() as conn:
            alert, old = await service.escalate(
                alert_id,
                body.escalate_to,
                reason=body.escalate_reason,
                actor=request[CALLER].name,
                conn=conn,
                wake=wake,
            )
            queued = await (
                Notification.filter(alert_id=alert_id, level=body.escalate_to, status=NotificationStatus.PENDING)
                .using_db(conn)
                .count()
            )
    except AlertError as exc:
        raise ApiError(exc.status, str(exc), error="not_found" if exc.status == 404 else "conflict") from exc
    await service.schedule(wake)
    await events.alert_changed(request.app[REDIS], alert.id, "escalated", conversation_id=alert.conversation_id)
    return ok(
        {
            "alert_id": alert.id,
            "old_level": old,
            "new_level": alert.level,
            "escalation_count": alert.escalation_count,
            "escalated_at": _iso(alert.escalated_at),
            "notification_sent": queued > 0,
            "notifications_queued": queued,
        },
        message="告警已升级",
    )
