"""Shared pieces of the simulator's HTTP layer: the state key, the error type, body and query helpers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from bot.simulator.payloads import envelope
from bot.simulator.state import RobotState, SimState

STATE: Final = web.AppKey("sim_state", SimState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

BAD_REQUEST: Final = 400
UNKNOWN_ROBOT: Final = 500  # the live service answers code 500 "robotId不存在" with HTTP 200


class SimApiError(Exception):
    """An error answered as `{"code", "message", "data": null}`. WorkTool API errors keep HTTP 200 (the client
    must read `code`, as with the real service); control endpoints use `http_status` 400/404."""

    def __init__(self, code: int, message: str, *, http_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def response(self) -> web.Response:
        return respond(None, code=self.code, message=self.message, status=self.http_status)


def respond(data: Any = None, *, code: int = 200, message: str = "操作成功", status: int = 200) -> web.Response:
    return web.json_response(
        envelope(data, code=code, message=message), status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


async def read_object(request: web.Request, *, http_status: int = 200) -> dict[str, Any]:
    body = await request.read()
    try:
        data = json.loads(body) if body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SimApiError(BAD_REQUEST, f"请求体不是合法的JSON: {exc}", http_status=http_status) from exc
    if not isinstance(data, dict):
        raise SimApiError(BAD_REQUEST, "请求体必须是JSON对象", http_status=http_status)
    return data


def robot_of(request: web.Request) -> RobotState:
    robot_id = request.query.get("robotId", "")
    if not robot_id:
        raise SimApiError(BAD_REQUEST, "robotId不能为空")
    robot = request.app[STATE].robots.get(robot_id)
    if robot is None:
        raise SimApiError(UNKNOWN_ROBOT, "robotId不存在")
    return robot


def int_query(request: web.Request, name: str, default: int, *, low: int = 0, high: int = 10**9) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SimApiError(BAD_REQUEST, f"{name} 必须是整数") from exc
    return max(low, min(high, value))
