"""Online/offline callbacks (types 5 and 6): any body is accepted and kept.

Their body is undocumented, and the docs suggest binding them to a WeCom group-robot webhook, whose body
(`{"msgtype": "text", "text": {"content": …}}`) says nothing a program can read. So `hub worktool bind` binds
the two types to distinct URLs, `…/status?kind=online` and `…/status?kind=offline`: the kind decides, and
the body's own flags only when a URL carries no kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from bot.callbacks.storable import storable

KINDS: Final[dict[str, bool]] = {"online": True, "offline": False}
MAX_STORED_CHARS: Final = 64 * 1024  # a status body is a few dozen bytes; more is kept only this far
EXCERPT_CHARS: Final = 120
UNREADABLE_BODY: Final = "unreadableBody"  # neither JSON nor a form: the text, under this key
TRUNCATED_BODY: Final = "truncatedBody"  # longer than MAX_STORED_CHARS: its start, under this key
_SECRET_VALUE: Final = re.compile(
    r"""(?i)((?:key|token|secret|password|passwd|sign|signature)["']?\s*[:=]\s*["']?)[^"'&\s,;}]+"""
)
_MOBILE: Final = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


@dataclass(frozen=True, slots=True)
class StatusBody:
    fields: dict[str, Any]  # what is stored
    size: int  # bytes received
    excerpt: str  # for the log: truncated, secrets and mobile numbers masked


async def read_status_body(request: web.Request) -> StatusBody:
    """Any body as something storable: a JSON object as is, another JSON value under "body", a form's
    fields, anything else as text; an empty body is `{}`. Never refuses (past the server's size limit,
    aiohttp answers 413 itself)."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        raw = urlencode(fields).encode()
    else:
        raw = await request.read()
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
    """The body's start on one line, for a log: values of key/token/secret/sign… fields and mobile numbers
    masked (a webhook URL's key, a signature), cut at `limit` characters."""
    text = " ".join(raw[: limit * 4].decode("utf-8", "replace").split())
    text = _MOBILE.sub(r"\1****\2", _SECRET_VALUE.sub(r"\1***", text))
    return text if len(text) <= limit and len(raw) <= limit * 4 else text[:limit] + "…"


def online_of_kind(kind: str | None) -> bool | None:
    """The `?kind=` a status URL was bound with; None when absent or not one of online/offline."""
    return KINDS.get((kind or "").strip().lower())
