"""`GET /readyz`: can the hub do its job? (`/healthz`, in bot/api/routes.py, is the liveness probe.)"""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web
from arq.connections import ArqRedis

from bot.api.envelope import dumps_json
from bot.keys import CLOCK, REDIS, SETTINGS
from bot.queue import Backlog, pending_backlog
from bot.readiness import Probes, heartbeats, judge

routes = web.RouteTableDef()
DATABASE_TIMEOUT_S: Final = 2.0
REDIS_TIMEOUT_S: Final = 1.0


async def _database() -> Backlog | None:
    """The pending backlog, or None if the database does not answer."""
    try:
        return await asyncio.wait_for(pending_backlog(), timeout=DATABASE_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - any failure means "down"; the reasons say so
        return None


async def _redis(redis: ArqRedis) -> dict[str, float] | None:
    """Every worker's last heartbeat, or None if Redis does not answer."""
    try:
        return await asyncio.wait_for(heartbeats(redis), timeout=REDIS_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - any failure means "down"
        return None


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    app = request.app
    backlog, beats = await asyncio.gather(_database(), _redis(app[REDIS]))
    probes = Probes(
        database_ok=backlog is not None,
        redis_ok=beats is not None,
        heartbeats=beats,
        pending_messages=None if backlog is None else backlog.pending,
        oldest_pending_at=None if backlog is None else backlog.oldest_at,
    )
    verdict = judge(probes, app[CLOCK].now(), app[SETTINGS].readiness)
    if verdict.ready:
        body = {"code": 0, "message": "ready", "data": verdict.data}
        return web.json_response(body, dumps=dumps_json)
    message = "not ready: " + "; ".join(verdict.reasons)
    body = {"code": 503, "message": message, "error": "not_ready", "data": verdict.data}
    return web.json_response(body, status=503, dumps=dumps_json)
