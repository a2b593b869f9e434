"""社群会话 and 用户会话: conversation lists (search by name, last activity, open items) and one
conversation's messages in order, the bot's own sends among them, each message with its type badge,
intervention mark, reason and confidence; staff takeovers (the bot's pauses); sessions split as the API
splits them (bot/api/sessions.py, 30 minutes of silence); CSV export.

Reads go through indexes: a conversation's messages by `(conversation_id, id)` paged by id, its commands by
`(conversation_id, created_at)`, open items by `(conversation_id, status)` for the conversations shown.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlencode

from aiohttp import web
from tortoise.expressions import Q
from tortoise.functions import Count

from bot.api.routes import SESSION_GAP
from bot.api.sessions import split_sessions
from bot.console.common import (
    COMMAND_STATUS,
    PAGE_SIZE,
    ROLE_OF_SENDER,
    before_param,
    clock,
    error_page,
    next_before,
    now,
    page,
    render,
)
from bot.keys import RULES
from models.alerts import Alert, AlertStatus
from models.commands import Command
from models.conversations import Conversation
from models.message_types import MessageType
from models.messages import InboundMessage
from models.tasks import OPEN_TASK_STATUSES, AfterSalesTask

routes = web.RouteTableDef()
KINDS: Final = {"group": "社群会话", "private": "用户会话"}
MESSAGES_PER_PAGE: Final = 100
EXPORT_MAX: Final = 100_000
EXPORT_CHUNK: Final = 5000
EXPORT_FIELDS: Final = (
    "id",
    "received_at",
    "sender_name",
    "sender_role",
    "text",
    "type",
    "type_confidence",
    "type_reason",
    "is_staff_intervention",
    "intervention_reason",
    "state",
)
CASE_LABEL: Final = {
    "staff_took_over": "人工已接手",
    "needs_staff_now": "需人工介入",
    "needs_after_sales": "需售后处理",
    "no_staff_needed": "无需人工",
}


@routes.get(r"/conversations/{kind:(group|private)}", name="console.conversations")
@page("staff")  # the API's role for GET /api/conversations
async def conversation_list(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    search = request.query.get("q", "").strip()[:100]
    page_no = max(
        1, min(int(request.query.get("page", "1")) if request.query.get("page", "1").isdigit() else 1, 10_000)
    )
    query = Conversation.filter(kind=kind)
    if search:
        query = query.filter(name__icontains=search)
    rows = await query.order_by("-last_message_at", "-id").offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    ids = [c.id for c in shown]
    tasks = await _counts(AfterSalesTask.filter(conversation_id__in=ids, status__in=OPEN_TASK_STATUSES))
    alerts = await _counts(Alert.filter(conversation_id__in=ids, status=AlertStatus.OPEN))
    context = {
        "kind": kind,
        "title": KINDS[kind],
        "conversations": shown,
        "open_tasks": tasks,
        "open_alerts": alerts,
        "search": search,
        "page_no": page_no,
        "has_next": len(rows) > PAGE_SIZE,
        "search_query": urlencode({"q": search}) if search else "",
        "fmt": clock(request),
        "now": now(request),
    }
    return await render(request, "conversations.html", context)


async def _counts(query: Any) -> dict[int, int]:
    return {
        int(cid): int(n)
        for cid, n in await query.group_by("conversation_id")
        .annotate(n=Count("id"))
        .values_list("conversation_id", "n")
    }


@dataclass(frozen=True)
class Line:
    """One row of the conversation view: a message, or something the bot sent."""

    at: datetime
    message: InboundMessage | None = None
    command: Command | None = None
    paused_until: datetime | None = None  # a staff takeover: the bot paused until then
    session: str | None = None  # set on the first line of a session


async def _conversation(request: web.Request) -> Conversation | web.Response:
    """The conversation the path names, or the console's 404 page."""
    conversation_id = int(request.match_info["conversation_id"])
    conv = await Conversation.get_or_none(id=conversation_id)
    if conv is None:
        return await error_page(request, 404, f"会话 {conversation_id} 不存在")
    return conv


@routes.get(r"/conversations/{conversation_id:\d{1,18}}", name="console.conversation")
@page("staff")  # the API's role for GET /api/sessions/{id}
async def conversation_view(request: web.Request) -> web.Response:
    conv = await _conversation(request)
    if isinstance(conv, web.Response):
        return conv
    context = await _view_context(request, conv)
    return await render(request, "conversation.html", context)


@routes.get(r"/conversations/{conversation_id:\d{1,18}}/messages", name="console.conversation_messages")
@page("staff")
async def conversation_messages(request: web.Request) -> web.Response:
    conv = await _conversation(request)
    if isinstance(conv, web.Response):
        return conv
    return await render(request, "_conversation_messages.html", await _view_context(request, conv))


async def _view_context(request: web.Request, conv: Conversation) -> dict[str, Any]:
    before = before_param(request)
    q = Q(conversation_id=conv.id)
    if before is not None:
        q &= Q(id__lt=before)
    newest_first = await InboundMessage.filter(q).order_by("-id").limit(MESSAGES_PER_PAGE + 1)
    older = next_before(newest_first, MESSAGES_PER_PAGE)
    messages = list(reversed(newest_first[:MESSAGES_PER_PAGE]))
    lines = await _lines(request, conv, messages, newest=before is None)
    types = {t.code: t.name for t in await MessageType.all()}
    open_tasks = await AfterSalesTask.filter(conversation_id=conv.id, status__in=OPEN_TASK_STATUSES).order_by("-id")
    open_alerts = await Alert.filter(conversation_id=conv.id, status=AlertStatus.OPEN).order_by("-id")
    moment = now(request)
    return {
        "conv": conv,
        "kind_title": KINDS.get(conv.kind, conv.kind),
        "lines": lines,
        "older": older,
        "paging": before is not None,
        "types": types,
        "sender_roles": ROLE_OF_SENDER,
        "case_label": CASE_LABEL,
        "command_status": COMMAND_STATUS,
        "open_tasks": open_tasks,
        "open_alerts": open_alerts,
        "paused": conv.bot_paused_until is not None and conv.bot_paused_until > moment,
        "fmt": clock(request),
    }


async def _lines(
    request: web.Request, conv: Conversation, messages: list[InboundMessage], *, newest: bool
) -> list[Line]:
    if not messages:
        commands = await Command.filter(conversation_id=conv.id).order_by("-created_at").limit(MESSAGES_PER_PAGE)
        return [Line(c.created_at, command=c) for c in reversed(commands)]
    start = messages[0].received_at
    end = now(request) if newest else messages[-1].received_at
    commands = await Command.filter(conversation_id=conv.id, created_at__gte=start, created_at__lte=end).order_by(
        "created_at", "id"
    )
    takeover = _takeover_minutes(request)
    starts = {s.first_id: s.session_id for s in split_sessions(conv.id, messages, SESSION_GAP)}
    lines = [
        Line(
            m.received_at,
            message=m,
            paused_until=(m.processed_at or m.received_at) + takeover if m.is_staff_intervention else None,
            session=starts.get(m.id),
        )
        for m in messages
    ]
    lines += [Line(c.created_at, command=c) for c in commands]
    lines.sort(key=lambda line: (line.at, 0 if line.message else 1))
    return lines


def _takeover_minutes(request: web.Request) -> timedelta:
    store = request.app.get(RULES)
    minutes = store.current.intervention.staff_took_over.takeover_minutes if store is not None else 30
    return timedelta(minutes=minutes)


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@routes.get(r"/conversations/{conversation_id:\d{1,18}}/export.csv", name="console.conversation_csv")
@page("staff")
async def conversation_csv(request: web.Request) -> web.StreamResponse:
    conv = await _conversation(request)
    if isinstance(conv, web.Response):
        return conv
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'会话-{conv.id}.csv')}",
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # Excel reads UTF-8 only with the BOM
    writer.writerow(
        ["时间", "来源", "发送者", "角色", "内容", "类型", "置信度", "类型依据", "人工介入", "介入原因", "状态"]
    )
    written, last_id = 0, 0
    while written < EXPORT_MAX:  # plain tuples, not model objects: a 20,000-message group exports in ~1 s
        chunk = (
            await InboundMessage.filter(conversation_id=conv.id, id__gt=last_id)
            .order_by("id")
            .limit(EXPORT_CHUNK)
            .values_list(*EXPORT_FIELDS)
        )
        if not chunk:
            break
        for mid, at, sender, role, text, kind, confidence, reason, staff, why, state in chunk:
            intervened = "" if staff is None else ("是" if staff else "否")
            score = "" if confidence is None else f"{confidence:.2f}"
            texts = [_cell(v) for v in (sender, role, text, kind)]
            row = [at.isoformat(), "消息", *texts, score, _cell(reason), intervened, _cell(why), _cell(state)]
            writer.writerow(row)
            last_id = mid
        written += len(chunk)
        await response.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
    async for c in Command.filter(conversation_id=conv.id).order_by("created_at", "id").limit(EXPORT_MAX):
        writer.writerow(
            [
                _cell(c.created_at.isoformat()),
                "机器人发送",
                _cell(c.robot_id),
                "robot",
                _cell(c.content),
                _cell(c.purpose),
                "",
                "",
                "",
                "",
                _cell(c.status.value),
            ]
        )
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response
