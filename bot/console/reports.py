"""每日售后报告: pick a past day; its figures (the stored report, or computed now when none is stored, as
GET /api/reports/daily-after-sales does; bot/console/daily.py) with ECharts charts — tasks by type, response
times, alerts by level and by outcome, staff workload — and the markdown/HTML downloads
(bot/reports/render.py). Manager and admin, as the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final

from aiohttp import web
from tortoise.functions import Count

from bot.console.common import clock, error_page, local_day, page, render, zone
from bot.console.daily import figures_of_day
from bot.keys import RULES
from bot.reports.daily import DEFAULT_OVERDUE_HOURS, DailyFigures, day_window
from bot.reports.delivery import figures_of
from bot.reports.render import COOPERATION, KIND, LEVEL, OUTCOME, RESPONSE, duration, render_html, render_markdown
from models.tasks import AfterSalesTask, DailyReport

routes = web.RouteTableDef()
FORMATS: Final = {"md": ("text/markdown", "md"), "html": ("text/html", "html")}


def _day(request: web.Request) -> date | str:
    """The chosen day, or what is wrong with the `date` parameter (in words)."""
    today = local_day(request)
    raw = request.query.get("date", "")
    if not raw:
        return today - timedelta(days=1)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return f"日期格式应为 YYYY-MM-DD，收到 {raw[:20]!r}"
    if day >= today:
        return f"只能查看已结束的日子（今天是 {today}）"
    return day


async def _figures(request: web.Request, day: date) -> tuple[DailyFigures, DailyReport | None]:
    row = await DailyReport.get_or_none(day=day)
    if row is not None:
        return figures_of(row), row
    rules = request.app.get(RULES)
    overdue = rules.current.assignment.assignment.overdue_hours if rules is not None else DEFAULT_OVERDUE_HOURS
    return await figures_of_day(day, zone(request), overdue_hours=overdue), None


async def _tasks_by_type(request: web.Request, day: date) -> dict[str, int]:
    start, end = day_window(day, zone(request))
    rows = await (
        AfterSalesTask.filter(created_at__gte=start, created_at__lt=end)
        .group_by("task_type")
        .annotate(n=Count("id"))
        .values_list("task_type", "n")
    )
    return dict(sorted(((str(t), int(n)) for t, n in rows), key=lambda kv: -kv[1]))


def charts(figures: DailyFigures, by_type: dict[str, int]) -> dict[str, Any]:
    """What static/console-report.js draws: plain lists, labels in Chinese."""
    tasks = figures["tasks"]
    alerts = figures["alerts"]
    return {
        "by_type": {"labels": list(by_type), "values": list(by_type.values())},
        "response": {
            "labels": ["分配", "用户回应", "完成"],
            "values": [tasks["avg_assignment_s"], tasks["avg_user_response_s"], tasks["avg_completion_s"]],
        },
        "alert_levels": [{"name": LEVEL.get(k, k), "value": v} for k, v in alerts["by_max_level"].items() if v],
        "alert_outcomes": [{"name": OUTCOME.get(k, k), "value": v} for k, v in alerts["by_outcome"].items() if v],
        "staff": {
            "names": [s["name"] for s in figures["staff"]],
            "assigned": [s["assigned"] for s in figures["staff"]],
            "completed": [s["completed"] for s in figures["staff"]],
            "open": [s["open"] for s in figures["staff"]],
        },
    }


@routes.get("/reports", name="console.reports")
@page("manager")  # the API's role for GET /api/reports/daily-after-sales
async def report(request: web.Request) -> web.Response:
    day = _day(request)
    if isinstance(day, str):
        return await error_page(request, 400, day)
    figures, row = await _figures(request, day)
    by_type = await _tasks_by_type(request, day)
    context = {
        "day": day,
        "latest": local_day(request) - timedelta(days=1),
        "figures": figures,
        "stored": row,
        "by_type": by_type,
        "charts": charts(figures, by_type),
        "duration": duration,
        "kind_label": KIND,
        "level_label": LEVEL,
        "outcome_label": OUTCOME,
        "response_label": RESPONSE,
        "cooperation_label": COOPERATION,
        "fmt": clock(request),
    }
    return await render(request, "report.html", context)


@routes.get(r"/reports/daily.{form:(md|html)}", name="console.report_download")
@page("manager")
async def report_download(request: web.Request) -> web.Response:
    day = _day(request)
    if isinstance(day, str):
        return await error_page(request, 400, day)
    figures, row = await _figures(request, day)
    form = request.match_info["form"]
    if form == "md":
        text = row.markdown if row is not None else render_markdown(figures)
    else:
        text = row.html if row is not None else render_html(figures)
    content_type, ext = FORMATS[form]
    return web.Response(
        text=text,
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="after-sales-{day.isoformat()}.{ext}"'},
    )
