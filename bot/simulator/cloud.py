"""The fake WorkTool cloud as an aiohttp app: the WorkTool API, `/_sim/` control, a per-IP rate limit, and
one shared client session for the callbacks it posts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Final

import aiohttp
import structlog
from aiohttp import web

from bot.simulator import api, control
from bot.simulator.delivery import play
from bot.simulator.http_base import STATE, Handler, SimApiError, respond
from bot.simulator.state import RequestRecord, SimState

log = structlog.get_logger(__name__)
CONTROL_PREFIX: Final = "/_sim/"
TOO_MANY_REQUESTS: Final = 429


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Rate limit (per source IP, every API endpoint together), request log, and `SimApiError` → JSON."""
    if request.path.startswith(CONTROL_PREFIX):
        try:
            return await handler(request)
        except SimApiError as exc:
            return exc.response()
    state = request.app[STATE]
    remote = request.remote or "unknown"
    now = time.monotonic()
    limited = not state.limiter.allow(remote, now)
    status = 500  # until a response or an HTTP exception says otherwise
    try:
        if limited:
            state.rate_limited += 1
            log.warning("rate limit exceeded", remote=remote, path=request.path, violations=state.rate_limited)
            response: web.StreamResponse = respond(code=TOO_MANY_REQUESTS, message="请求过于频繁", status=429)
        else:
            try:
                response = await handler(request)
            except SimApiError as exc:
                response = exc.response()
        status = response.status
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        state.requests.append(
            RequestRecord(
                now,
                state.wall_ms(),
                request.method,
                request.path,
                request.query.get("robotId"),
                remote,
                status,
                limited,
            )
        )
    return response


async def _play_when_hub_is_up(state: SimState, wait_s: float = 60.0) -> None:
    """Started next to the hub (`hub run`), the simulator would otherwise post its first messages into
    the void: wait until the hub answers at all (WorkTool itself never re-sends a callback)."""
    if state.hub_url and state.session is not None:
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            try:
                async with state.session.get(f"{state.hub_url}/healthz"):
                    break  # any answer: the hub is listening
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
        else:
            log.warning("the hub did not answer /healthz; playing anyway", hub_url=state.hub_url)
    await play(state, state.scenario.messages)


def create_sim_app(state: SimState, *, play_on_start: bool = False) -> web.Application:
    """The simulator app. `play_on_start`: play the scenario's timeline once the app has started."""
    app = web.Application(middlewares=[api_middleware])
    app[STATE] = state

    async def client_session(_app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=state.callback_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            state.session = session
            if play_on_start:
                state.spawn(_play_when_hub_is_up(state), "play")
            try:
                yield
            finally:
                await state.close()  # background tasks first: they use the session
                state.session = None

    app.cleanup_ctx.append(client_session)
    app.add_routes(api.routes)
    app.add_routes(control.routes)
    return app
