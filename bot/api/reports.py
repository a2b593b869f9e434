"""API of the reports (DESIGN §3.8, §4.2): the daily after-sales report and the collaboration analysis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.api.auth import requires
from bot.api.envelope import ApiError, ok
from bot.api.params import date_param, parse_id, time_param
from bot.keys import CLOCK, RULES, SETTINGS
from bot.reports.collaboration import analyse
from bot.reports.daily import DEFAULT_OVERDUE_HOURS, DailyFigures, compute_daily
from bot.reports.delivery import delivery_of, figures_of
from bot.reports.render import render_html, render_markdown
from models.conversations import Conversation
from models.tasks import DailyReport

routes = web.RouteTableDef()
FORMATS: Final = ("json", "markdown", "html")
DEFAULT_SPAN: Final = timedelta(days=7)
MAX_SPAN: Final = timedelta(days=31)  # every message of the span is read: keep one request bounded


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _report_view(day: date, figures: DailyFigures, row: DailyReport | None) -> dict[str, Any]:
    return {
        "day": day.isoformat(),
        "stored": row is not None,
        "generated_at": _iso(row.generated_at) if row else None,
        "delivered_at": _iso(row.delivered_at) if row else None,
        "delivery_attempts": row.delivery_attempts if row else 0,
        "delivery_error": row.delivery_error if row else None,
        "next_attempt_at": _iso(row.next_attempt_at) if row else None,
        "delivery": delivery_of(row) if row else {},
        "figures": figures,
    }


@routes.get("/api/reports/daily-after-sales")
@requires("manager")
async def daily_after_sales(request: web.Request) -> web.Response:
    """The stored report of a past day, or (none stored yet) its figures computed now — not stored, not sent."""
    tz = ZoneInfo(request.app[SETTINGS].timezone)
    today = request.app[CLOCK].now().astimezone(tz).date()
    day = date_param(request, "date", today - timedelta(days=1))
    if day > today:
        raise ApiError(400, f"date {day} is in the future (today is {today}, {tz.key})", error="bad_parameter")
    if day == today:
        raise ApiError(
            400, f"date {day} is today ({tz.key}): its report exists once the day is over", error="bad_parameter"
        )
    form = request.query.get("format", "json")
    if form not in FORMATS:
        raise ApiError(400, f"format must be one of {list(FORMATS)}, got {form!r}", error="bad_parameter")
    row = await DailyReport.get_or_none(day=day)
    if row is not None:
        figures, markdown, html = figures_of(row), row.markdown, row.html
    else:
        rules = request.app.get(RULES)
        overdue = rules.current.assignment.assignment.overdue_hours if rules is not None else DEFAULT_OVERDUE_HOURS
        figures = await compute_daily(day, tz, overdue_hours=overdue)
        markdown, html = render_markdown(figures), render_html(figures)
    if form == "html":
        return web.Response(text=html, content_type="text/html", charset="utf-8")
    if form == "markdown":
        return web.Response(text=markdown, content_type="text/markdown", charset="utf-8")
    return ok(_report_view(day, figures, row))


async def _conversation(raw: str) -> Conversation:
    """A conversation by id (digits) or by name (a group first)."""
    if (conversation_id := parse_id(raw)) is not None:
        found = await Conversation.get_or_none(id=conversation_id)
        if found is not None:
            return found
    found = await Conversation.filter(name=raw, kind="group").order_by("id").first()
    found = found or await Conversation.filter(name=raw).order_by("id").first()
    if found is None:
        raise ApiError(404, f"no conversation with id or name {raw!r}", error="not_found")
    return found


@routes.get("/api/collaboration")
@requires("staff")
async def collaboration(request: web.Request) -> web.Response:
    """The 4-dimension analysis of one group (`group`: id or name) or of all, over [from, to)."""
    end = time_param(request, "to") or request.app[CLOCK].now().astimezone(UTC)
    start = time_param(request, "from") or end - DEFAULT_SPAN
    if start >= end:
        raise ApiError(400, "from must be before to", error="bad_parameter")
    if end - start > MAX_SPAN:
        raise ApiError(400, f"from..to spans more than {MAX_SPAN.days} days", error="bad_parameter")
    conversation = None
    if "group" in request.query:
        raw = request.query["group"].strip()
        if not raw:
            raise ApiError(400, "group must be a conversation id or name", error="bad_parameter")
        conversation = await _conversation(raw)
    figures = await analyse(conversation.id if conversation else None, start, end)
    where = {"id": conversation.id, "name": conversation.name, "kind": conversation.kind} if conversation else None
    return ok({"conversation": where, **figures})
