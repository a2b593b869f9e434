"""机器人: one card per configured robot — online state, roles, shift, callback silence, the last
commands and their outcomes, the day's outcome counts, and the health score with its recommendations
(the worker's latest check, bot/robots/health.py; as GET /api/robots and /api/robots/{id}/health)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from aiohttp import web
from tortoise.functions import Count

from bot.console.common import COMMAND_STATUS, HEALTH_STATUS, clock, duration, now, page, render, zone
from bot.keys import SETTINGS
from models.commands import Command
from models.robots import Robot, RobotHealth

routes = web.RouteTableDef()
RECENT_COMMANDS: Final = 8
ROLE: Final = {"reply": "回复", "alert": "告警", "after_sales": "售后", "listen": "监听"}


@routes.get("/robots", name="console.robots")
@page("staff")  # the API's role for GET /api/robots
async def robots(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    moment = now(request)
    local = moment.astimezone(zone(request))
    rows = {r.id: r for r in await Robot.all()}
    day: dict[str, dict[str, int]] = {}
    for robot_id, status, n in await (
        Command.filter(sent_at__gte=moment - timedelta(days=1))
        .group_by("robot_id", "status")
        .annotate(n=Count("id"))
        .values_list("robot_id", "status", "n")
    ):
        day.setdefault(str(robot_id), {})[str(status)] = int(n)
    cards: list[dict[str, Any]] = []
    for robot in settings.worktool.robots:
        row = rows.get(robot.id)
        recent = (
            await Command.filter(robot_id=robot.id, sent_at__isnull=False).order_by("-sent_at").limit(RECENT_COMMANDS)
        )
        health = await RobotHealth.filter(robot_id=robot.id).order_by("-checked_at", "-id").first()
        silence = (moment - row.last_callback_at).total_seconds() if row and row.last_callback_at else None
        cards.append(
            {
                "id": robot.id,
                "name": robot.name,
                "roles": [ROLE.get(r, r) for r in robot.roles],
                "shift": robot.shift,
                "on_shift": robot.shift.covers(local),
                "online": row.online if row else None,
                "online_changed_at": row.online_changed_at if row else None,
                "last_callback_at": row.last_callback_at if row else None,
                "silence": duration(silence) if silence is not None else "从未回调",
                "unknown_results": row.unknown_results if row else 0,
                "health_score": row.health_score if row else None,
                "health_status": row.health_status if row else None,
                "health_checked_at": row.health_checked_at if row else None,
                "recommendations": health.recommendations if health else [],
                "recent": recent,
                "day": day.get(robot.id, {}),
            }
        )
    context = {"cards": cards, "command_status": COMMAND_STATUS, "health_label": HEALTH_STATUS, "fmt": clock(request)}
    return await render(request, "robots.html", context)
