"""Read API of the foundation: health, conversations, sessions with their messages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final, TypeVar

from aiohttp import web
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.queryset import QuerySet

from bot.api.auth import requires
from bot.api.envelope import ApiError, ok
from bot.api.params import MAX_ID, int_param, path_id, time_param
from bot.api.sessions import SessionSpan, parse_session_id, split_sessions
from bot.db import connection
from bot.keys import REDIS
from bot.queue import pending_count
from models.conversations import Conversation
from models.messages import InboundMessage, MessageSighting

routes = web.RouteTableDef()
M = TypeVar("M", bound=Model)
SESSION_GAP: Final = timedelta(minutes=30)
MAX_SCAN: Final = 5000  # messages read to build a group's session list


async def newest_page(
    request: web.Request, query: QuerySet[M], view: Callable[[M], dict[str, Any]], *, time_field: str
) -> web.Response:
    """The common tail of a list endpoint: `from`/`to` on `time_field`, then `limit`/`offset` over the
    newest first, with the total before paging."""
    since, until = time_param(request, "from"), time_param(request, "to")
    if since is not None:
        query = query.filter(**{f"{time_field}__gte": since})
    if until is not None:
        query = query.filter(**{f"{time_field}__lt": until})
    limit = int_param(request, "limit", 50, 1, 500)
    offset = int_param(request, "offset", 0, 0, 10**9)
    total = await query.count()
    rows = await query.order_by("-id").offset(offset).limit(limit)
    return ok({"total": total, "items": [view(row) for row in rows]})


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    db_ok, redis_ok = True, True
    try:
        await asyncio.wait_for(connection().execute_query("SELECT 1"), timeout=2)
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; the reason is not the caller's business
        db_ok = False
    try:
        await asyncio.wait_for(request.app[REDIS].ping(), timeout=1)
    except Exception:  # noqa: BLE001 - any failure means "down"
        redis_ok = False
    pending = await pending_count() if db_ok else None
    data = {"database": "ok" if db_ok else "down", "redis": "ok" if redis_ok else "down", "pending_messages": pending}
    # Ingest keeps working without Redis, so only the database makes the service unhealthy.
    status = 200 if db_ok else 503
    body: dict[str, Any] = {"code": 0 if db_ok else 503, "message": "ok" if db_ok else "database down", "data": data}
    return web.json_response(body, status=status)


@routes.get("/api/conversations")
@requires("staff")
async def list_conversations(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 100, 1, 1000)
    offset = int_param(request, "offset", 0, 0, 10_000_000)
    query = Conversation.all()
    if name := request.query.get("name"):
        query = query.filter(name__icontains=name)
    if kind := request.query.get("kind"):
        if kind not in ("group", "private"):
            raise ApiError(400, "kind must be group or private", error="bad_parameter")
        query = query.filter(kind=kind)
    total = await query.count()
    rows = (
        await query.annotate(message_count=Count("messages"))
        .order_by("-last_message_at", "-id")
        .offset(offset)
        .limit(limit)
    )
    items = [
        {
            "id": c.id,
            "kind": c.kind,
            "key": c.key,
            "name": c.name,
            "room_type": c.room_type,
            "message_count": c.message_count,  # type: ignore[attr-defined]
            "last_message_at": c.last_message_at,
        }
        for c in rows
    ]
    return ok({"total": total, "items": items})


async def _messages_json(messages: list[InboundMessage]) -> list[dict[str, Any]]:
    seen: dict[int, list[str]] = {m.id: [m.robot_id] for m in messages}  # the first reporter, then copies
    rows = (
        await MessageSighting.filter(message_id__in=[m.id for m in messages])
        .order_by("id")
        .values_list("message_id", "robot_id")
    )
    for mid, robot in rows:
        seen.setdefault(mid, []).append(robot)
    return [
        {
            "id": m.id,
            "sender": m.sender_name,
            "role": m.sender_role,
            "text": m.text,
            "raw_text": m.raw_text,
            "text_type": m.text_type,
            "at_me": m.at_me,
            "time": m.received_at,
            "state": m.state,
            "type": m.type,
            "robots": seen.get(m.id, []),
        }
        for m in messages
    ]


def _span_json(span: SessionSpan, conv: Conversation) -> dict[str, Any]:
    return {
        "session_id": span.session_id,
        "conversation": {"id": conv.id, "kind": conv.kind, "name": conv.name},
        "started_at": span.started_at,
        "ended_at": span.ended_at,
        "message_count": span.count,
    }


@routes.get("/api/sessions/{session_id}")
@requires("staff")
async def get_session(request: web.Request) -> web.Response:
    parsed = parse_session_id(request.match_info["session_id"])
    if parsed is None:
        problem = f"session_id looks like <conversation id>-<first message id>, each 1 to {MAX_ID}"
        raise ApiError(400, problem, error="bad_parameter")
    conv_id, first_id = parsed
    conv = await Conversation.get_or_none(id=conv_id)
    first = await InboundMessage.get_or_none(id=first_id, conversation_id=conv_id)
    if conv is None or first is None:
        raise ApiError(404, f"no session {request.match_info['session_id']}", error="not_found")
    previous = await InboundMessage.filter(conversation_id=conv_id, id__lt=first_id).order_by("-id").first()
    if previous is not None and first.received_at - previous.received_at <= SESSION_GAP:
        raise ApiError(404, f"message {first_id} does not start a session", error="not_found")
    messages = [first]
    async for message in InboundMessage.filter(conversation_id=conv_id, id__gt=first_id).order_by("id").limit(MAX_SCAN):
        if message.received_at - messages[-1].received_at > SESSION_GAP:
            break
        messages.append(message)
    span = split_sessions(conv_id, messages, SESSION_GAP)[0]
    return ok({**_span_json(span, conv), "messages": await _messages_json(messages)})


@routes.get("/api/groups/{group_id}/sessions")
@requires("staff")
async def group_sessions(request: web.Request) -> web.Response:
    group_id = path_id(request, "group_id")
    limit = int_param(request, "limit", 20, 1, 200)
    conv = await Conversation.get_or_none(id=group_id, kind="group")
    if conv is None:
        raise ApiError(404, f"no group conversation {group_id}", error="not_found")
    recent = await InboundMessage.filter(conversation_id=group_id).order_by("-id").limit(MAX_SCAN)
    recent.reverse()
    spans = split_sessions(group_id, recent, SESSION_GAP)[-limit:]
    spans.reverse()  # newest first
    sessions = []
    for span in spans:
        msgs = [m for m in recent if span.first_id <= m.id <= span.last_id]
        sessions.append({**_span_json(span, conv), "messages": await _messages_json(msgs)})
    return ok({"group": {"id": conv.id, "name": conv.name}, "sessions": sessions})
