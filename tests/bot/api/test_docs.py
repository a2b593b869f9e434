"""The OpenAPI document as served (parsed once, `servers` from `server.public_url`, an operationId on every
operation) and the Swagger UI page at /api/docs with only vendored assets (bot/api/docs.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.api import docs
from bot.app import create_app
from bot.settings import Settings, load_settings
from tests.conftest import REPO, build_settings

Client = TestClient[Any, Any]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def settings_with(public_url: str | None) -> Settings:
    env = {"HUB__SERVER__PUBLIC_URL": public_url} if public_url else {}
    settings = load_settings(REPO / "config.yaml", environ=env)
    assert settings.server.public_url == public_url
    return settings


async def docs_client(aiohttp_client: Any, settings: Settings) -> Client:
    app = web.Application()
    docs.setup_docs(app, settings)
    client: Client = await aiohttp_client(app)
    return client


async def openapi(client: Client) -> dict[str, Any]:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    document: dict[str, Any] = await resp.json()
    return document


async def test_every_operation_has_a_unique_operation_id(aiohttp_client: Any) -> None:
    document = await openapi(await docs_client(aiohttp_client, settings_with(None)))
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]
    assert len(operations) >= 30
    missing = [f"{method.upper()} {path}" for path, method, op in operations if not op.get("operationId")]
    assert missing == []
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("public_url", "expected"),
    [("https://hub.example.com/", "https://hub.example.com"), ("http://10.0.0.5:8080", "http://10.0.0.5:8080")],
)
async def test_servers_is_the_public_url_setting(aiohttp_client: Any, public_url: str, expected: str) -> None:
    document = await openapi(await docs_client(aiohttp_client, settings_with(public_url)))
    assert [server["url"] for server in document["servers"]] == [expected]


async def test_servers_is_this_origin_without_a_public_url(aiohttp_client: Any) -> None:
    document = await openapi(await docs_client(aiohttp_client, settings_with(None)))
    assert [server["url"] for server in document["servers"]] == ["/"]


async def test_the_document_is_parsed_once_and_served_from_memory(
    aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = await docs_client(aiohttp_client, settings_with(None))
    monkeypatch.setattr(docs, "OPENAPI_PATH", tmp_path / "gone.yaml")  # any later read would fail
    first, second = await openapi(client), await openapi(client)
    assert first == second
    assert first["paths"]["/api/docs"]["get"]["operationId"] == "getApiDocsPage"


async def test_api_docs_renders_swagger_ui_from_local_assets_only(aiohttp_client: Any) -> None:
    client = await docs_client(aiohttp_client, settings_with(None))
    resp = await client.get("/api/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    page = await resp.text()
    assert 'id="swagger-ui"' in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(assets) == [
        "/static/api-docs.js",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
    ]
    for asset in assets:
        got = await client.get(asset)
        assert got.status == 200, asset
        body = await got.text()
        assert len(body) > 100, asset
        if asset.endswith(".css"):  # no font or image fetched from elsewhere
            assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", body), asset
    init = await (await client.get("/static/api-docs.js")).text()
    assert 'url: "/openapi.json"' in init
    assert "SwaggerUIBundle" in await (await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")).text()


async def test_the_vendored_package_notes_its_version_and_licence() -> None:
    vendor = docs.STATIC_DIR / "vendor" / "swagger-ui"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert re.search(r"swagger-ui-dist` \*\*5\.\d+\.\d+\*\*", readme)
    assert "Apache License" in (vendor / "LICENSE").read_text(encoding="utf-8")


async def test_the_static_route_lists_no_directory_and_leaves_the_tree(aiohttp_client: Any) -> None:
    client = await docs_client(aiohttp_client, settings_with(None))
    assert (await client.get("/static/vendor/swagger-ui/")).status in (403, 404)
    assert (await client.get("/static/../pyproject.toml")).status in (403, 404)


def test_the_app_serves_the_document_and_the_page(tmp_path: Path) -> None:
    app = create_app(build_settings("sqlite://:memory:", "redis://127.0.0.1:1/0", tmp_path))
    paths = {resource.canonical for resource in app.router.resources()}
    assert {"/openapi.json", "/api/docs", "/static"} <= paths


async def test_without_the_static_folder_the_document_is_still_served(
    aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(docs, "STATIC_DIR", tmp_path / "absent")
    client = await docs_client(aiohttp_client, settings_with(None))
    assert (await openapi(client))["openapi"].startswith("3.")
    assert (await client.get("/api/docs")).status == 404
