"""`/_sim/…`: control and inspection endpoints for tests and demos (not part of WorkTool; never rate-limited).

Errors answer HTTP 400/404 with `{"code", "message", "data": null}`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.callbacks.payloads import describe_validation_error
from bot.simulator.delivery import play, set_online
from bot.simulator.http_base import BAD_REQUEST, STATE, SimApiError, read_object, respond
from bot.simulator.scenario import CloudBehaviour, Override, ResultBehaviour, Timeline, check_timeline
from bot.simulator.state import RobotState

routes = web.RouteTableDef()
M = TypeVar("M", bound=BaseModel)


class RobotPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    online: bool | None = None
    result: ResultBehaviour | None = None
    reply_all: int | None = None


def _parse(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SimApiError(BAD_REQUEST, describe_validation_error(exc), http_status=400) from exc


def _robot_json(robot: RobotState) -> dict[str, Any]:
    return {
        "id": robot.id,
        "name": robot.name,
        "online": robot.online,
        "replyAll": robot.reply_all,
        "openCallback": robot.open_callback,
        "result": robot.behaviour.model_dump(),
        "queued": len(robot.queue),
        "bindings": {b.type: b.url.split("?", 1)[0] for b in robot.bindings.values()},
    }


@routes.get("/_sim/requests")
async def requests(request: web.Request) -> web.Response:
    return respond([r.to_json() for r in request.app[STATE].requests])


@routes.get("/_sim/commands")
async def commands(request: web.Request) -> web.Response:
    robot_id, message_id = request.query.get("robotId"), request.query.get("messageId")
    rows = [
        c.to_json()
        for c in request.app[STATE].commands
        if robot_id in (None, c.robot_id) and message_id in (None, c.message_id)
    ]
    return respond(rows)


@routes.get("/_sim/callbacks")
async def callbacks(request: web.Request) -> web.Response:
    kind, robot_id = request.query.get("kind"), request.query.get("robotId")
    rows = [
        c.to_json() for c in request.app[STATE].callbacks if kind in (None, c.kind) and robot_id in (None, c.robot_id)
    ]
    return respond(rows)


@routes.get("/_sim/robots")
async def robots(request: web.Request) -> web.Response:
    return respond([_robot_json(r) for r in request.app[STATE].robots.values()])


@routes.post("/_sim/robots/{robot_id}")
async def patch_robot(request: web.Request) -> web.Response:
    """`{"online"?: bool, "result"?: ResultBehaviour, "reply_all"?: -1|0|1}`. Going online flushes the queue;
    a change of online posts a status callback (type 5 online / 6 offline)."""
    state = request.app[STATE]
    robot = state.robots.get(request.match_info["robot_id"])
    if robot is None:
        raise SimApiError(404, f"unknown robot {request.match_info['robot_id']!r}", http_status=404)
    patch = _parse(RobotPatch, await read_object(request, http_status=400))
    if patch.reply_all is not None:
        if patch.reply_all not in (-1, 0, 1):
            raise SimApiError(BAD_REQUEST, "reply_all: must be -1, 0 or 1", http_status=400)
        robot.reply_all = patch.reply_all
    if patch.result is not None:
        robot.behaviour = patch.result
    if patch.online is not None:
        await set_online(state, robot, patch.online)
    return respond(_robot_json(robot))


@routes.post("/_sim/overrides")
async def add_override(request: web.Request) -> web.Response:
    """Add a per-command behaviour (an `Override`); the most recently added match wins."""
    state = request.app[STATE]
    override = _parse(Override, await read_object(request, http_status=400))
    if override.robot is not None and override.robot not in state.robots:
        raise SimApiError(BAD_REQUEST, f"robot: unknown robot {override.robot!r}", http_status=400)
    state.overrides.append(override)
    return respond([o.model_dump() for o in state.overrides])


@routes.delete("/_sim/overrides")
async def clear_overrides(request: web.Request) -> web.Response:
    request.app[STATE].overrides.clear()
    return respond([])


@routes.post("/_sim/play")
async def play_timeline(request: web.Request) -> web.Response:
    """Play the scenario's timeline, or the inline one in `{"messages": […]}`; answers at once."""
    state = request.app[STATE]
    body = await read_object(request, http_status=400) if await request.read() else {}
    if "messages" in body:
        messages = _parse(Timeline, body).messages
        problems = check_timeline(state.scenario, messages, ("messages",))
        if problems:
            text = "; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems)
            raise SimApiError(BAD_REQUEST, text, http_status=400)
    else:
        messages = state.scenario.messages
    state.spawn(play(state, messages), "play")
    return respond({"messages": len(messages)})


@routes.get("/_sim/cloud")
async def cloud(request: web.Request) -> web.Response:
    return respond(request.app[STATE].cloud.model_dump())


@routes.post("/_sim/cloud")
async def patch_cloud(request: web.Request) -> web.Response:
    """Change the answer and callback shapes (`CloudBehaviour` fields, e.g. `{"raw_msg_shape": "object"}`)."""
    state = request.app[STATE]
    merged = {**state.cloud.model_dump(exclude_unset=True), **await read_object(request, http_status=400)}
    state.cloud = _parse(CloudBehaviour, merged)
    return respond(state.cloud.model_dump())


@routes.get("/_sim/stats")
async def stats(request: web.Request) -> web.Response:
    return respond(request.app[STATE].stats())
