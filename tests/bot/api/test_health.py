"""`/readyz` through the real app on both databases and a real Redis (`/healthz` is in test_routes.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.api.docs import load_openapi
from bot.app import create_app
from bot.clock import FrozenClock
from bot.embedded_redis import free_port
from bot.keys import REDIS
from bot.readiness import beat
from tests.conftest import CALLBACK_TOKEN, build_settings

Client = TestClient[Any, Any]
DOCUMENTED = load_openapi()["components"]["schemas"]["Readiness"]["properties"]["data"]["required"]


async def readyz(client: Client, status: int) -> dict[str, Any]:
    resp = await client.get("/readyz")
    body: dict[str, Any] = await resp.json()
    assert resp.status == status, body
    assert sorted(body["data"]) == sorted(DOCUMENTED)  # the shape bot/api/openapi.yaml promises
    return body


async def test_not_ready_without_a_worker_heartbeat_then_ready(client: Client, clock: FrozenClock) -> None:
    body = await readyz(client, 503)
    assert body["error"] == "not_ready"
    assert body["message"] == "not ready: no worker heartbeat within 20 s"
    assert body["data"]["reasons"] == ["no worker heartbeat within 20 s"]
    assert (body["data"]["database"], body["data"]["redis"], body["data"]["workers"]) == ("ok", "ok", [])

    await beat(client.app[REDIS], "box:7", clock.now() - timedelta(seconds=2))
    body = await readyz(client, 200)
    assert body["message"] == "ready"
    assert body["data"]["workers"] == [{"id": "box:7", "last_heartbeat_s": 2.0}]
    assert (body["data"]["pending_messages"], body["data"]["oldest_pending_age_s"]) == (0, None)

    clock.advance(timedelta(seconds=19))
    assert (await readyz(client, 503))["data"]["workers"] == []  # its heartbeat is 21 s old now


async def test_not_ready_when_the_oldest_pending_message_is_too_old(client: Client, clock: FrozenClock) -> None:
    for text in ("第一条", "第二条"):
        payload = {"spoken": text, "receivedName": "号主A", "groupName": "客户群1", "roomType": 1}
        resp = await client.post(f"/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}", json=payload)
        assert resp.status == 200
        clock.advance(timedelta(seconds=30))
    clock.advance(timedelta(seconds=60))
    await beat(client.app[REDIS], "box:7", clock.now())
    data = (await readyz(client, 200))["data"]
    assert (data["pending_messages"], data["oldest_pending_age_s"]) == (2, 120.0)

    clock.advance(timedelta(seconds=1))
    await beat(client.app[REDIS], "box:7", clock.now())
    body = await readyz(client, 503)
    assert body["data"]["reasons"] == ["oldest pending message waited 121 s (limit 120 s)"]


async def test_not_ready_when_redis_is_down(
    db_url: str, tmp_path: Path, clock: FrozenClock, aiohttp_client: Callable[..., Any]
) -> None:
    settings = build_settings(db_url, f"redis://127.0.0.1:{free_port()}/0", tmp_path)  # nothing listens there
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    body = await readyz(client, 503)
    assert body["data"]["reasons"] == ["redis down: the worker gets no jobs"]
    assert (body["data"]["database"], body["data"]["redis"], body["data"]["workers"]) == ("ok", "down", None)
    assert (await client.get("/healthz")).status == 200  # liveness: ingest works without Redis
