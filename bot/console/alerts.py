"""告警管理: open and closed alerts with level badges; an alert's escalation history and notifications per
channel; cancel (staff, as `POST /api/alerts/{id}/cancel`) and escalate (manager, as `.../escalate`) forms
with a reason, through the same service calls the API makes. The actor is the logged-in account."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot import events, limits
from bot.alerts.service import AlertError, Wakeups
from bot.api.alerts import ALERTS
from bot.console.common import (
    ALERT_STATUS,
    CHANNEL,
    EVENT_ACTION,
    NOTIFICATION_STATUS,
    PAGE_SIZE,
    account_of,
    allowed,
    before_param,
    clock,
    error_page,
    next_before,
    page,
    render,
)
from bot.console.forms import form_with_csrf
from bot.keys import REDIS
from bot.reports.render import KIND
from bot.rules.alerts import ALERT_KINDS, MAX_LEVEL
from models.alerts import Alert, AlertEvent, AlertLevel, AlertStatus, CancelReason, Notification

routes = web.RouteTableDef()
FLASH: Final = {"cancelled": "告警已取消", "already": "告警此前已关闭", "escalated": "告警已升级"}


async def _levels() -> dict[int, str]:
    return {lv.level: lv.name for lv in await AlertLevel.all().order_by("level")}


@routes.get("/alerts", name="console.alerts")
@page("staff")
async def alert_list(request: web.Request) -> web.Response:
    return await render(request, "alerts.html", await _list_context(request))


@routes.get("/alerts/list", name="console.alerts_list")
@page("staff")
async def alert_list_fragment(request: web.Request) -> web.Response:
    return await render(request, "_alerts_list.html", await _list_context(request))


async def _list_context(request: web.Request) -> dict[str, Any]:
    status = request.query.get("status", "open")
    kind = request.query.get("kind", "")
    level = request.query.get("level", "")
    q = Q()
    if status in ALERT_STATUS:
        q &= Q(status=status)
    else:
        status = "all"
    if kind in ALERT_KINDS:
        q &= Q(kind=kind)
    else:
        kind = ""
    if level.isdigit() and 1 <= int(level) <= MAX_LEVEL:
        q &= Q(level=int(level))
    else:
        level = ""
    before = before_param(request)
    if before is not None:
        q &= Q(id__lt=before)
    rows = await Alert.filter(q).order_by("-id").limit(PAGE_SIZE + 1)
    filters = {"status": status, "kind": kind, "level": level}
    return {
        "alerts": rows[:PAGE_SIZE],
        "next_before": next_before(rows, PAGE_SIZE),
        "filters": filters,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "paging": before is not None,  # an older page is not replaced by the newest on a live update
        "levels": await _levels(),
        "kinds": {k: KIND.get(k, k) for k in ALERT_KINDS},
        "alert_status": ALERT_STATUS,
        "fmt": clock(request),
    }


@routes.get(r"/alerts/{alert_id:\d{1,18}}", name="console.alert")
@page("staff")
async def alert_detail(request: web.Request) -> web.Response:
    alert_id = int(request.match_info["alert_id"])
    alert = await Alert.get_or_none(id=alert_id)
    if alert is None:
        return await error_page(request, 404, f"告警 #{alert_id} 不存在")
    events_ = await AlertEvent.filter(alert_id=alert_id).order_by("id")
    notifications = await Notification.filter(alert_id=alert_id).order_by("channel", "level", "id")
    by_channel: dict[str, list[Notification]] = {}
    for n in notifications:
        by_channel.setdefault(n.channel, []).append(n)
    account = account_of(request)
    context = {
        "alert": alert,
        "events": events_,
        "by_channel": by_channel,
        "levels": await _levels(),
        "kind_label": KIND.get(alert.kind, alert.kind),
        "channel": CHANNEL,
        "notification_status": NOTIFICATION_STATUS,
        "event_action": EVENT_ACTION,
        "alert_status": ALERT_STATUS,
        "can_cancel": alert.status == AlertStatus.OPEN and allowed(account, "staff"),
        "can_escalate": alert.status == AlertStatus.OPEN and allowed(account, "manager") and alert.level < MAX_LEVEL,
        "max_level": MAX_LEVEL,
        "flash": FLASH.get(request.query.get("ok", "")),
        "fmt": clock(request),
        "reason_chars": limits.REASON_CHARS,
    }
    return await render(request, "alert.html", context)


def _reason(form: dict[str, str], field: str) -> str | None:
    reason = form.get(field, "").strip()
    return reason if 0 < len(reason) <= limits.REASON_CHARS else None


@routes.post(r"/alerts/{alert_id:\d{1,18}}/cancel", name="console.alert_cancel")
@page("staff")  # the API's role for POST /api/alerts/{id}/cancel
async def alert_cancel(request: web.Request) -> web.StreamResponse:
    alert_id = int(request.match_info["alert_id"])
    form = await form_with_csrf(request)
    if isinstance(form, web.Response):
        return form
    reason = _reason(form, "reason")
    if reason is None:
        return await error_page(request, 400, f"请填写取消原因（1 到 {limits.REASON_CHARS} 个字）")
    service = request.app[ALERTS]
    actor = account_of(request).name
    async with in_transaction() as conn:
        closed = await service.cancel(alert_id, CancelReason.MANUAL, actor=actor, note=reason, conn=conn)
    if closed.alert is None:
        return await error_page(request, 404, f"告警 #{alert_id} 不存在")
    if closed.done:
        await events.alert_changed(
            request.app[REDIS], alert_id, "cancelled", conversation_id=closed.alert.conversation_id
        )
    raise web.HTTPSeeOther(f"/alerts/{alert_id}?ok={'cancelled' if closed.done else 'already'}")


@routes.post(r"/alerts/{alert_id:\d{1,18}}/escalate", name="console.alert_escalate")
@page("manager")  # the API's role for POST /api/alerts/{id}/escalate
async def alert_escalate(request: web.Request) -> web.StreamResponse:
    alert_id = int(request.match_info["alert_id"])
    form = await form_with_csrf(request)
    if isinstance(form, web.Response):
        return form
    reason = _reason(form, "reason")
    level = form.get("level", "")
    if reason is None or not level.isdigit() or not 2 <= int(level) <= MAX_LEVEL:
        return await error_page(request, 400, f"请选择 2 到 {MAX_LEVEL} 级并填写升级原因")
    service = request.app[ALERTS]
    wake = Wakeups()
    try:
        async with in_transaction() as conn:
            alert, _old = await service.escalate(
                alert_id, int(level), reason=reason, actor=account_of(request).name, conn=conn, wake=wake
            )
    except AlertError as exc:
        return await error_page(request, exc.status, str(exc))
    await service.schedule(wake)
    await events.alert_changed(request.app[REDIS], alert_id, "escalated", conversation_id=alert.conversation_id)
    raise web.HTTPSeeOther(f"/alerts/{alert_id}?ok=escalated")
