"""A receiver standing in for the hub (records every callback) and a factory for simulators posting to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.simulator import Scenario, SimState, create_sim_app

Client = TestClient[Any, Any]
TOKEN = "sim-test-token"
SCALE = 100.0  # simulated seconds per real second: the default 1 s result delay takes 10 ms

BASE_SCENARIO: dict[str, Any] = {
    "robots": [{"id": "wt-robot-1", "name": "小助手"}, {"id": "wt-robot-2", "name": "售后助手"}],
    "groups": [
        {
            "name": "客户群1",
            "robots": ["wt-robot-1", "wt-robot-2"],
            "members": [{"name": "号主A"}, {"name": "售后小王", "role": "staff"}],
        },
        {"name": "号主B的群", "remark": "客户群2", "robots": ["wt-robot-1"], "members": [{"name": "号主B"}]},
    ],
}


@dataclass(frozen=True)
class Received:
    robot_id: str  # from the hub-layout path, or the hook name for a bound URL
    kind: str  # message | result | status | hook
    token: str | None
    content_type: str
    body: dict[str, Any]
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    """The hub's callback layout `/worktool/{robot}/{kind}?token=` plus `/hook/{name}` for bound URLs:
    `/hook/ok…` answers JSON, `/hook/status500…` HTTP 500, `/hook/text…` a non-JSON 200."""

    received: list[Received] = field(default_factory=list)
    url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/worktool/{robot_id}/{kind}", self._callback)
        app.router.add_post("/hook/{name}", self._hook)
        return app

    async def _record(self, request: web.Request, robot_id: str, kind: str) -> None:
        raw = await request.text()
        if request.content_type == "application/json":
            body = json.loads(raw)
        else:
            body = dict(parse_qsl(raw, keep_blank_values=True))
        received = Received(robot_id, kind, request.query.get("token"), request.content_type, body, dict(request.query))
        self.received.append(received)
        self._arrived.set()

    async def _callback(self, request: web.Request) -> web.Response:
        await self._record(request, request.match_info["robot_id"], request.match_info["kind"])
        return web.json_response({"code": 0, "message": "ok"})

    async def _hook(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self._record(request, name, "hook")
        if name.startswith("status500"):
            return web.json_response({"code": -1}, status=500)
        if name.startswith("text"):
            return web.Response(text="OK")
        return web.json_response({"code": 0, "message": "参数接收成功"})

    def of(self, kind: str, robot_id: str | None = None) -> list[Received]:
        return [r for r in self.received if r.kind == kind and robot_id in (None, r.robot_id)]

    async def wait_for(self, count: int, kind: str, timeout_s: float = 2.0) -> list[Received]:
        async with asyncio.timeout(timeout_s):
            while len(self.of(kind)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.of(kind)


@dataclass
class Sim:
    state: SimState
    client: Client

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        resp = await self.client.request(method, path, params=params, json=body)
        assert resp.headers["Content-Type"].startswith("application/json"), await resp.text()
        answer: dict[str, Any] = await resp.json()
        answer["_status"] = resp.status
        return answer

    async def send(self, commands: list[dict[str, Any]], robot_id: str = "wt-robot-1") -> dict[str, Any]:
        body = {"socketType": 2, "list": commands}
        return await self.call("POST", "/wework/sendRawMessage", body, robotId=robot_id)

    async def polled(self, robot_id: str = "wt-robot-1", **params: str) -> list[dict[str, Any]]:
        answer = await self.call("GET", "/robot/rawMsg/list", robotId=robot_id, **params)
        assert answer["code"] == 200, answer
        rows: list[dict[str, Any]] = answer["data"]
        return rows


SimFactory = Callable[..., Awaitable[Sim]]


def text(title: str = "客户群1", content: str = "你好", **extra: Any) -> dict[str, Any]:
    return {"type": 203, "titleList": [title], "receivedContent": content, **extra}


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Receiver:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    receiver.url = str(server.make_url("")).rstrip("/")
    return receiver


@pytest.fixture
def make_sim(aiohttp_client: Callable[..., Awaitable[Client]], receiver: Receiver) -> SimFactory:
    async def make(scenario: dict[str, Any] | None = None, *, time_scale: float = SCALE, **options: Any) -> Sim:
        state = SimState(
            Scenario.model_validate(scenario if scenario is not None else BASE_SCENARIO),
            hub_url=receiver.url,
            token=TOKEN,
            time_scale=time_scale,
            **options,
        )
        return Sim(state, await aiohttp_client(create_sim_app(state)))

    return make
