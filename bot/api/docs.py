"""The OpenAPI document and its Swagger UI page.

The document (bot/api/openapi.yaml) is read and parsed once, when the app is built, with `servers` set from
`server.public_url` (the address clients use, behind the reverse proxy); `/openapi.json` answers the bytes
prepared then. `/api/docs` is a Swagger UI page whose script and styles come from the vendored npm package under
`static/vendor/swagger-ui/` (see its README), served by aiohttp's static route: no CDN.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import structlog
import yaml
from aiohttp import web

from bot.settings import Settings

OPENAPI_PATH: Final = Path(__file__).with_name("openapi.yaml")
STATIC_DIR: Final = Path(__file__).resolve().parents[2] / "static"
OPENAPI_JSON: Final = web.AppKey("openapi_json", bytes)
log = structlog.get_logger(__name__)

DOCS_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>WorkTool Hub API</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


def load_openapi() -> dict[str, Any]:
    """The document as written in bot/api/openapi.yaml (its `servers` is a placeholder)."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    return document


def served_openapi(settings: Settings) -> dict[str, Any]:
    """The document as served: `servers` is `server.public_url`, or the serving origin ("/") when unset."""
    document = load_openapi()
    public_url = settings.server.public_url
    if public_url:
        document["servers"] = [{"url": public_url.rstrip("/"), "description": "server.public_url"}]
    else:
        document["servers"] = [{"url": "/", "description": "this server (server.public_url is not set)"}]
    return document


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_JSON], content_type="application/json")


async def api_docs(_request: web.Request) -> web.Response:
    return web.Response(text=DOCS_PAGE, content_type="text/html")


def setup_docs(app: web.Application, settings: Settings) -> None:
    """Parse the document now (a broken file stops start-up, not a request) and add the routes. Without the
    checkout's `static/` (an install that is not the checkout) the hub serves without the docs page."""
    app[OPENAPI_JSON] = json.dumps(served_openapi(settings), ensure_ascii=False).encode()
    app.router.add_get("/openapi.json", openapi_json)
    if not STATIC_DIR.is_dir():
        log.warning("no static/ folder beside the code: /api/docs is not served", static_dir=str(STATIC_DIR))
        return
    app.router.add_get("/api/docs", api_docs)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False, append_version=False)
