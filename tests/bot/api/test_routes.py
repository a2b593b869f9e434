"""The read API through the real app: auth, envelope, conversations and sessions, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from bot.api.auth import API_TOKENS, CALLER, REQUIRED_ROLE, requires
from bot.api.docs import served_openapi
from bot.api.envelope import error_middleware, ok
from bot.clock import FrozenClock
from bot.keys import CLOCK, DIRECTORY, REDIS, SETTINGS
from bot.settings import ApiToken
from jobs.processing import WorkerDeps, drain_conversation
from models.conversations import Conversation
from tests.conftest import ADMIN_TOKEN, CALLBACK_TOKEN, STAFF_TOKEN

Client = TestClient[Any, Any]
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


async def say(
    client: Client, text: str, sender: str = "号主A", group: str = "客户群1", robot: str = "wt-robot-1"
) -> int:
    body = {"spoken": text, "rawSpoken": text, "receivedName": sender, "groupName": group, "roomType": 1}
    resp = await client.post(f"/worktool/{robot}/message?token={CALLBACK_TOKEN}", json=body)
    assert resp.status == 200
    message_id: int = (await resp.json())["messageId"]
    return message_id


async def process_all(client: Client) -> None:
    """What the worker does: here in-process, so the API shows processed state."""
    app = client.app
    deps = WorkerDeps(app[SETTINGS], app[DIRECTORY], app[REDIS], app[CLOCK])
    for conversation in await Conversation.all():
        await drain_conversation(deps, conversation.id)


async def get(client: Client, path: str, headers: dict[str, str] = STAFF, status: int = 200) -> Any:
    resp = await client.get(path, headers=headers)
    assert resp.status == status, await resp.text()
    return await resp.json()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Basic abc"}, "missing bearer token"),
        ({"Authorization": "Bearer not-a-token"}, "unknown API token"),
    ],
)
async def test_api_needs_a_known_bearer_token(client: Client, headers: dict[str, str], message: str) -> None:
    body = await get(client, "/api/conversations", headers=headers, status=401)
    assert (body["code"], body["error"], body["data"]) == (401, "unauthorized", None)
    assert message in body["message"]


async def test_roles_are_ranked(aiohttp_client: Any) -> None:
    @requires("admin")
    async def admin_only(request: web.Request) -> web.Response:
        return ok({"who": request[CALLER].name})

    tokens = (
        ApiToken(token=SecretStr(ADMIN_TOKEN), role="admin", name="boss"),
        ApiToken(token=SecretStr(STAFF_TOKEN), role="staff", name="clerk"),
    )
    app = web.Application(middlewares=[error_middleware])
    app[API_TOKENS] = tokens
    app.router.add_get("/api/admin-only", admin_only)
    client = await aiohttp_client(app)
    denied = await get(client, "/api/admin-only", status=403)
    assert "needs the admin role; token 'clerk' has staff" in denied["message"]
    allowed = await get(client, "/api/admin-only", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert allowed == {"code": 0, "message": "ok", "data": {"who": "boss"}}


async def test_every_api_route_requires_a_token(client: Client) -> None:
    api = [r for r in client.app.router.routes() if r.resource and r.resource.canonical.startswith("/api/")]
    assert len(api) >= 6
    unguarded = [r.resource.canonical for r in api if not hasattr(r.handler, REQUIRED_ROLE)]
    assert unguarded == ["/api/docs", "/api/docs"]  # GET and HEAD of the Swagger UI page: no data, like /openapi.json


async def test_unknown_path_gets_a_json_404(client: Client) -> None:
    body = await get(client, "/nowhere", status=404)
    assert (body["code"], body["error"]) == (404, "not_found")


async def test_healthz_reports_database_and_redis(client: Client) -> None:
    await say(client, "你好")
    body = await get(client, "/healthz", headers={})
    assert body["data"] == {"database": "ok", "redis": "ok", "pending_messages": 1}


async def test_conversations_list_with_counts_and_filters(client: Client, clock: FrozenClock) -> None:
    await say(client, "一", group="北京售后群")
    clock.advance(timedelta(seconds=1))
    await say(client, "二", group="北京售后群", sender="号主B")
    clock.advance(timedelta(seconds=1))
    await say(client, "三", group="上海群")
    await process_all(client)
    body = await get(client, "/api/conversations")
    assert body["code"] == 0
    assert [(c["name"], c["message_count"]) for c in body["data"]["items"]] == [("上海群", 1), ("北京售后群", 2)]
    filtered = await get(client, "/api/conversations?name=北京")
    assert filtered["data"]["total"] == 1
    bad = await get(client, "/api/conversations?limit=0", status=400)
    assert "limit must be between 1 and 1000" in bad["message"]
    bad_kind = await get(client, "/api/conversations?kind=channel", status=400)
    assert bad_kind["error"] == "bad_parameter"


async def test_group_sessions_split_on_silence_and_list_robots(client: Client, clock: FrozenClock) -> None:
    first = await say(client, "早上好")
    await say(client, "早上好", robot="wt-robot-2")  # the second robot's copy of the same message
    clock.advance(timedelta(minutes=5))
    await say(client, "在吗", sender="小王")
    clock.advance(timedelta(hours=2))
    later = await say(client, "二维码过期了")
    conv_id = (await get(client, "/api/conversations"))["data"]["items"][0]["id"]
    body = await get(client, f"/api/groups/{conv_id}/sessions")
    sessions = body["data"]["sessions"]
    assert [s["session_id"] for s in sessions] == [f"{conv_id}-{later}", f"{conv_id}-{first}"]
    older = sessions[1]
    assert older["message_count"] == 2
    assert older["messages"][0]["robots"] == ["wt-robot-1", "wt-robot-2"]
    assert [m["sender"] for m in older["messages"]] == ["号主A", "小王"]
    one = await get(client, f"/api/sessions/{conv_id}-{first}")
    assert [m["text"] for m in one["data"]["messages"]] == ["早上好", "在吗"]


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/sessions/abc", 400, "bad_parameter"),
        ("/api/sessions/999-1", 404, "not_found"),
        ("/api/groups/x/sessions", 400, "bad_parameter"),
        ("/api/groups/999/sessions", 404, "not_found"),
    ],
)
async def test_session_lookups_fail_clearly(client: Client, path: str, status: int, error: str) -> None:
    body = await get(client, path, status=status)
    assert body["error"] == error


async def test_a_message_inside_a_session_is_not_a_session_id(client: Client, clock: FrozenClock) -> None:
    await say(client, "一")
    clock.advance(timedelta(minutes=1))
    second = await say(client, "二")
    conv_id = (await get(client, "/api/conversations"))["data"]["items"][0]["id"]
    body = await get(client, f"/api/sessions/{conv_id}-{second}", status=404)
    assert "does not start a session" in body["message"]


async def test_openapi_documents_every_route(client: Client) -> None:
    served = await get(client, "/openapi.json", headers={})
    assert served == served_openapi(client.app[SETTINGS])  # the file with servers from server.public_url
    documented = {(path, method) for path, ops in served["paths"].items() for method in ops}
    routes = {
        (route.resource.canonical, route.method.lower())
        for route in client.app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and not isinstance(route.resource, web.StaticResource)  # /static/: the Swagger UI page's assets
        and not (route.name or "").startswith("console.")  # the console's HTML pages (bot/console/), not the API
    }
    assert routes == documented
