"""Online/offline callbacks (types 5 and 6): any body is accepted and kept.

Their body is undocumented, and the docs suggest binding them to a WeCom group-robot webhook, whose body
(`{"msgtype": "text", "text": {"content": …}}`) says nothing a program can read. So `hub worktool bind` binds
the two types to distinct URLs, `…/status?kind=online` and `…/status?kind=offline`: the kind decides, and
the body's own flags only when a URL carries no kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import hdrs, web

from bot.callbacks.payloads import MalformedBody, decode_body
from bot.callbacks.storable import UNREADABLE_BODY, storable
from bot.logging import redact

KINDS: Final[dict[str, bool]] = {"online": True, "offline": False}
MAX_STORED_CHARS: Final = 64 * 1024  # a status body is a few dozen bytes; more is kept only this far
EXCERPT_CHARS: Final = 120
TRUNCATED_BODY: Final = "truncatedBody"  # longer than MAX_STORED_CHARS: its start, under this key


@dataclass(frozen=True, slots=True)
class StatusBody:
    fields: dict[str, Any]  # what is stored
    size: int  # bytes received
    excerpt: str  # for the log: truncated, secrets and mobile numbers masked


async def read_status_body(request: web.Request) -> StatusBody:
    """Any body as something storable: a JSON object as is, another JSON value under "body", a form's
    fields, anything else as text; an empty body is `{}`. Never refuses (past the server's size limit,
    aiohttp answers 413 itself)."""
    raw = await request.read()
    if request.content_type == "multipart/form-data":  # parsed from the bytes read: never read twice
        try:
            fields = decode_body(raw, request.content_type, request.headers.get(hdrs.CONTENT_TYPE, ""))
        except MalformedBody:
            fields = parse_status_body(raw)
    else:
        fields = parse_status_body(raw)
    return StatusBody(storable(fields), len(raw), excerpt(raw))


def parse_status_body(raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        return {}
    if len(text) > MAX_STORED_CHARS:
        return {TRUNCATED_BODY: text[:MAX_STORED_CHARS], "bytes": len(raw)}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        pass
    else:
        return data if isinstance(data, dict) else {"body": data}
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        pairs = []
    return dict(pairs) if pairs else {UNREADABLE_BODY: text}


def excerpt(raw: bytes, limit: int = EXCERPT_CHARS) -> str:
    """The body's start on one line, for a log: secrets and phone numbers masked (bot/logging.py `redact`),
    cut at `limit` characters."""
    return redact(" ".join(raw[: limit * 4].decode("utf-8", "replace").split()), limit)


def online_of_kind(kind: str | None) -> bool | None:
    """The `?kind=` a status URL was bound with; None when absent or not one of online/offline."""
    return KINDS.get((kind or "").strip().lower())
