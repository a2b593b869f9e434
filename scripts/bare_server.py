"""The throughput baseline for `bench_ingest.py`: a bare aiohttp app with one JSON POST handler.

It does what any webhook must do (read and parse the JSON body, answer JSON) and nothing else, on the same
event loop the hub uses (uvloop when importable). Usage: `python scripts/bare_server.py PORT`.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    body = await request.json()
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return web.json_response({"code": 0, "message": "ok"})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"code": 0, "message": "ok"})


def use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - optional, as in the hub
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: bare_server.py PORT", file=sys.stderr)
        return 2
    use_uvloop()
    app = web.Application()
    app.router.add_post("/worktool/{robot_id}/message", handle)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(argv[0]), access_log=None, print=None, handler_cancellation=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
