"""售后实时监控大屏: today's figures, the task list with filters, live reminders.

Every figure is one grouped query on an indexed column (open tasks by status and assignee use
`(status, assignee)`, open alerts `(status, next_escalation_at)`); the day's closed tasks are read through
the tasks table (thousands of rows, not the messages'). The list pages by id (`?before=`), never by OFFSET.
The fragments (`/board/figures`, `/board/tasks`, `/board/reminders`) are what htmx re-fetches when an
event arrives (static/console.js).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web
from tortoise.expressions import Q
from tortoise.functions import Count

from bot.console.common import (
    PAGE_SIZE,
    PRIORITY,
    RESPONSE,
    TASK_STATUS,
    before_param,
    clock,
    next_before,
    now,
    page,
    render,
    today_window,
    zone,
)
from bot.keys import DIRECTORY
from models.alerts import Alert, AlertEvent, AlertLevel, AlertStatus
from models.tasks import OPEN_TASK_STATUSES, AfterSalesTask, TaskStatus

routes = web.RouteTableDef()
REMINDERS: Final = 12
OPEN_VALUES: Final = tuple(s.value for s in OPEN_TASK_STATUSES)


@dataclass(frozen=True)
class StaffLoad:
    name: str
    open: int
    cap: int
    on_shift: bool


async def figures(request: web.Request) -> dict[str, Any]:
    start, end = today_window(request)
    by_status = dict.fromkeys(OPEN_VALUES, 0)
    for status, n in await (
        AfterSalesTask.filter(status__in=OPEN_VALUES)
        .group_by("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    ):
        by_status[str(status)] = int(n)
    responses = dict.fromkeys(RESPONSE, 0)
    for state, n in await (
        AfterSalesTask.filter(status__in=OPEN_VALUES)
        .group_by("user_response_status")
        .annotate(n=Count("id"))
        .values_list("user_response_status", "n")
    ):
        responses[str(state)] = int(n)
    completed = await AfterSalesTask.filter(completed_at__gte=start, completed_at__lt=end).count()
    created = await AfterSalesTask.filter(created_at__gte=start, created_at__lt=end).count()
    levels = {lv.level: lv.name for lv in await AlertLevel.all().order_by("level")}
    alerts_by_level = dict.fromkeys(levels, 0)
    for level, n in await (
        Alert.filter(status=AlertStatus.OPEN).group_by("level").annotate(n=Count("id")).values_list("level", "n")
    ):
        alerts_by_level[int(level)] = int(n)
    load: dict[str, int] = {}
    for assignee, n in await (
        AfterSalesTask.filter(status__in=OPEN_VALUES, assignee__isnull=False)
        .group_by("assignee")
        .annotate(n=Count("id"))
        .values_list("assignee", "n")
    ):
        load[str(assignee)] = int(n)
    local = now(request).astimezone(zone(request))
    people = {p.name: p for p in request.app[DIRECTORY].people.values() if p.role == "staff"}
    staff = [StaffLoad(name, load.get(name, 0), p.max_open_tasks, p.shift.covers(local)) for name, p in people.items()]
    staff += [StaffLoad(name, n, 0, False) for name, n in load.items() if name not in people]
    staff.sort(key=lambda s: (not s.on_shift, -s.open, s.name))
    return {
        "tasks_by_status": by_status,
        "tasks_open": sum(by_status.values()),
        "created_today": created,
        "completed_today": completed,
        "responses": responses,
        "alert_levels": levels,
        "alerts_by_level": alerts_by_level,
        "alerts_open": sum(alerts_by_level.values()),
        "staff": staff,
        "on_shift": [s.name for s in staff if s.on_shift],
    }


def _task_filters(request: web.Request) -> tuple[dict[str, str], Q]:
    chosen = {k: request.query.get(k, "").strip() for k in ("status", "assignee", "task_type", "user")}
    chosen["status"] = chosen["status"] or "open"
    q = Q()
    if chosen["status"] == "open":
        q &= Q(status__in=OPEN_VALUES)
    elif chosen["status"] in TASK_STATUS:
        q &= Q(status=chosen["status"])
    else:
        chosen["status"] = "all"
    for name in ("assignee", "task_type", "user"):
        if chosen[name]:
            q &= Q(**{name: chosen[name]})
    return chosen, q


async def task_page(request: web.Request) -> dict[str, Any]:
    chosen, q = _task_filters(request)
    before = before_param(request)
    if before is not None:
        q &= Q(id__lt=before)
    rows = await AfterSalesTask.filter(q).order_by("-id").limit(PAGE_SIZE + 1)
    query = urlencode({k: v for k, v in chosen.items() if v})
    return {
        "tasks": rows[:PAGE_SIZE],
        "next_before": next_before(rows, PAGE_SIZE),
        "filters": chosen,
        "filter_query": query,
        "paging": before is not None,  # an older page is not replaced by the newest on a live update
        "task_status": TASK_STATUS,
        "priority": PRIORITY,
        "response": RESPONSE,
        "overdue_before": now(request),
    }


async def reminders() -> list[dict[str, Any]]:
    events = await AlertEvent.all().order_by("-id").limit(REMINDERS)
    alerts = {a.id: a for a in await Alert.filter(id__in={e.alert_id for e in events})}
    return [{"event": e, "alert": alerts.get(e.alert_id)} for e in events]


def _context(request: web.Request) -> dict[str, Any]:
    return {"fmt": clock(request), "now": now(request)}


@routes.get("/board", name="console.board")
@page("staff")
async def board(request: web.Request) -> web.Response:
    context = {**_context(request), **await figures(request), **await task_page(request)}
    context["reminders"] = await reminders()
    return await render(request, "board.html", context)


@routes.get("/board/figures", name="console.board_figures")
@page("staff")
async def board_figures(request: web.Request) -> web.Response:
    return await render(request, "_board_figures.html", {**_context(request), **await figures(request)})


@routes.get("/board/tasks", name="console.board_tasks")
@page("staff")
async def board_tasks(request: web.Request) -> web.Response:
    return await render(request, "_board_tasks.html", {**_context(request), **await task_page(request)})


@routes.get("/board/reminders", name="console.board_reminders")
@page("staff")
async def board_reminders(request: web.Request) -> web.Response:
    return await render(request, "_board_reminders.html", {**_context(request), "reminders": await reminders()})


def is_overdue(task: AfterSalesTask, moment: datetime) -> bool:
    return task.status == TaskStatus.WAITING_USER and task.response_due_at is not None and task.response_due_at < moment
