"""The access log: one line per request, with a request id bound into every line of its work.

API and console requests are logged at INFO; WorkTool callbacks (hundreds a second at peak) and the
health/metrics probes at DEBUG. The id comes from the caller's `X-Request-Id` when it is a sane token,
else it is made here, and is sent back in the same header.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Final

import structlog
from aiohttp import web

REQUEST_ID_HEADER: Final = "X-Request-Id"
QUIET_PREFIXES: Final = ("/worktool/",)
QUIET_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})
_SANE_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

log = structlog.get_logger("hub.access")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id_of(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _SANE_ID.match(given) else uuid.uuid4().hex[:16]


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_id_of(request)
    started = time.perf_counter()
    status = 500
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
        else:
            status = response.status
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            path = request.path
            quiet = path in QUIET_PATHS or path.startswith(QUIET_PREFIXES)
            (log.debug if quiet else log.info)(
                "request",
                method=request.method,
                path=path,
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
