"""The web console (DESIGN §4.3): server-rendered pages in Simplified Chinese for people who log in with an
account (bot/accounts/), live through server-sent events (bot/console/live.py, fed by bot/events.py).

Pages: 售后实时监控大屏 (board.py), 告警管理 (alerts.py), 社群会话/用户会话 (conversations.py), 机器人
(robots.py), 每日售后报告 (reports.py), 规则 (rules.py); login and passwords (login.py). Each page needs the
role the API needs for the same data (common.page). Templates are jinja2 with autoescape on; scripts and
styles are files under static/ (htmx and ECharts vendored from npm, no CDN, no build step).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.console import alerts, board, conversations, live, login, reports, robots, rules

TEMPLATES: Final = Path(__file__).with_name("templates")
ROUTES: Final = (
    login.routes,
    board.routes,
    alerts.routes,
    conversations.routes,
    robots.routes,
    reports.routes,
    rules.routes,
    live.routes,
)


def setup_console(app: web.Application) -> None:
    """Templates, the pages' routes and the live-event feed. After the sessions are set up."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value shown is escaped: user text can never become markup
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.trim_blocks = True
    env.lstrip_blocks = True
    for table in ROUTES:
        app.add_routes(table)
    app.cleanup_ctx.append(live.feed_ctx)
    app.on_shutdown.append(live.close_streams)
