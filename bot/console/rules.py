"""规则: the rule set this web process runs (read-only): its version, when it was loaded, its files with
their sizes and times, what they hold (types, rules, examples, replies, task types, alert levels and
kinds), and the last reload that was refused with its error (bot/understanding/store.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.console.common import clock, page, render
from bot.keys import RULES
from bot.understanding.ruleset import FILES

routes = web.RouteTableDef()


@routes.get("/rules", name="console.rules")
@page("staff")
async def rules(request: web.Request) -> web.Response:
    store = request.app[RULES]
    current = store.current
    files: list[dict[str, Any]] = []
    for name in FILES:
        path = current.directory / name
        try:
            stat = path.stat()
        except OSError:
            files.append({"name": name, "size": None, "modified": None})
            continue
        files.append({"name": name, "size": stat.st_size, "modified": datetime.fromtimestamp(stat.st_mtime, UTC)})
    types = current.message_types.types
    counts = [
        ("消息类型", len(types)),
        ("分类规则", sum(len(t.rules) for t in types)),
        ("自测样例", sum(len(t.examples) for t in types)),
        ("安抚回复", len(current.replies.holding)),
        ("常见问题回复", len(current.replies.faq)),
        ("售后任务类型", len(current.assignment.task_types)),
        ("告警级别", len(current.alerts.levels)),
        ("告警类型", len(current.alerts.kinds)),
    ]
    context = {
        "version": current.version,
        "directory": str(current.directory),
        "loaded_at": store.loaded_at,
        "refused": store.last_refused,
        "files": files,
        "counts": counts,
        "types": types,
        "levels": current.alerts.levels,
        "fmt": clock(request),
    }
    return await render(request, "rules.html", context)
