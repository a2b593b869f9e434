"""The WorkTool cloud API as the live service answers it (protocol §2-§4): code 200 "操作成功", HTTP 200 even for
business errors."""

from __future__ import annotations

from typing import Any, Final

import structlog
from aiohttp import web

from bot.simulator.delivery import accept_commands, check_callback_url
from bot.simulator.http_base import (
    BAD_REQUEST,
    STATE,
    SimApiError,
    int_query,
    read_object,
    respond,
    robot_of,
)
from bot.simulator.payloads import BINDABLE_CALLBACK_TYPES, CALLBACK_TYPE_NAMES, poll_data, poll_item
from bot.simulator.state import MESSAGE_CALLBACK_TYPE, RESULT_CALLBACK_TYPE, Binding, RobotState, SimState

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

MAX_COMMANDS: Final = 100
SOCKET_TYPE: Final = 2
# the cloud test-POSTs these on binding
TESTED_CALLBACK_TYPES: Final = frozenset({RESULT_CALLBACK_TYPE, MESSAGE_CALLBACK_TYPE})
CREATE_TIME: Final = "2024-04-29T15:31:51"


def _commands_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("socketType") != SOCKET_TYPE:
        raise SimApiError(BAD_REQUEST, f"socketType必须为{SOCKET_TYPE}")
    commands = body.get("list")
    if not isinstance(commands, list) or not commands:
        raise SimApiError(BAD_REQUEST, "list不能为空")
    if len(commands) > MAX_COMMANDS:
        raise SimApiError(BAD_REQUEST, f"list最多{MAX_COMMANDS}条指令, 收到{len(commands)}条")
    for index, command in enumerate(commands):
        if not isinstance(command, dict) or not isinstance(command.get("type"), int):
            raise SimApiError(BAD_REQUEST, f"list[{index}]: 指令必须是带整数type的JSON对象")
    return commands


@routes.post("/wework/sendRawMessage")
async def send_raw_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    robot = robot_of(request)
    commands = _commands_of(await read_object(request))
    message_id = state.next_id()
    accept_commands(state, robot, message_id, commands)
    log.info("commands accepted", robot_id=robot.id, message_id=message_id, commands=len(commands))
    return respond(message_id)


@routes.get("/robot/rawMsg/list")
async def raw_msg_list(request: web.Request) -> web.Response:
    """Executed commands only (a queued or pending one is not here), newest first; page is 1-based. `data` is a
    plain list or a page object (`cloud.raw_msg_shape`); `cloud.raw_msg_max_size` caps `size`."""
    state = request.app[STATE]
    robot = robot_of(request)
    message_id = request.query.get("messageId") or None
    command_type = int_query(request, "type", 0)
    page = int_query(request, "page", 1, low=1)
    size = int_query(request, "size", 20, low=1, high=state.cloud.raw_msg_max_size or 1000)
    rows = [
        c
        for c in state.commands
        if c.robot_id == robot.id
        and c.executed_ms is not None
        and c.behaviour.visible_in_poll
        and (message_id is None or c.message_id == message_id)
        and (not command_type or c.command.get("type") == command_type)
    ]
    rows.sort(key=lambda c: (c.executed_ms or 0, c.index), reverse=True)
    data = [
        poll_item(
            robot_id=c.robot_id,
            message_id=c.message_id,
            command=c.command,
            error_code=c.error_code,
            error_reason=c.error_reason,
            run_time_ms=c.executed_ms or 0,
            time_cost_s=c.time_cost_s,
            success_list=c.success_list,
            fail_list=c.fail_list,
            tz=state.tz,
        )
        for c in rows[(page - 1) * size : page * size]
    ]
    return respond(poll_data(data, page=page, size=size, total=len(rows), shape=state.cloud.raw_msg_shape))


@routes.get("/robot/robotInfo/online")
async def robot_online(request: web.Request) -> web.Response:
    return respond(robot_of(request).online)


@routes.get("/robot/robotInfo/get")
async def robot_info(request: web.Request) -> web.Response:
    robot = robot_of(request)
    return respond(
        {
            "robotId": robot.id,
            "name": robot.name,
            "openCallback": robot.open_callback,
            "encryptType": 0,
            "createTime": CREATE_TIME,
            "enableAdd": True,
            "replyAll": robot.reply_all,
            "robotKeyCheck": 0,
            "callBackRequestType": 2,
            "robotType": 0,
        }
    )


async def _bind(state: SimState, robot: RobotState, callback_type: int, url: str) -> None:
    if callback_type in TESTED_CALLBACK_TYPES:
        problem = await check_callback_url(state, robot.id, url)
        if problem is not None:
            raise SimApiError(500, f"回调地址校验失败, 需返回HTTP 200和JSON: {problem}")
    robot.bindings[callback_type] = Binding(next(state.binding_ids), callback_type, url)
    log.info("callback bound", robot_id=robot.id, type=callback_type, url=url.split("?", 1)[0])


@routes.post("/robot/robotInfo/callBack/bind")
async def bind_callback(request: web.Request) -> web.Response:
    state = request.app[STATE]
    robot = robot_of(request)
    body = await read_object(request)
    callback_type, url = body.get("type"), body.get("callBackUrl")
    if callback_type == MESSAGE_CALLBACK_TYPE:  # like the live service: only robotInfo/update sets it
        raise SimApiError(
            BAD_REQUEST, "消息回调(type 11)不支持通过callBack/bind绑定, 请调用robotInfo/update设置callbackUrl"
        )
    if not isinstance(callback_type, int) or callback_type not in BINDABLE_CALLBACK_TYPES:
        raise SimApiError(BAD_REQUEST, f"type必须是{sorted(BINDABLE_CALLBACK_TYPES)}之一")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise SimApiError(BAD_REQUEST, "callBackUrl必须是http(s)地址")
    await _bind(state, robot, callback_type, url)
    return respond(None)


@routes.get("/robot/robotInfo/callBack/get")
async def list_callbacks(request: web.Request) -> web.Response:
    robot = robot_of(request)
    data = [
        {"id": b.id, "type": b.type, "callBackUrl": b.url, "typeName": CALLBACK_TYPE_NAMES[b.type]}
        for b in sorted(robot.bindings.values(), key=lambda b: b.id)
    ]
    return respond(data)


@routes.post("/robot/robotInfo/callBack/deleteByType")
async def delete_callback(request: web.Request) -> web.Response:
    robot = robot_of(request)
    callback_type = (await read_object(request)).get("type")
    if not isinstance(callback_type, int):
        raise SimApiError(BAD_REQUEST, "type必须是整数")
    robot.bindings.pop(callback_type, None)
    return respond(None)


@routes.post("/robot/robotInfo/update")
async def update_robot(request: web.Request) -> web.Response:
    """The only way to bind the message callback (listed as type 11): `{openCallback, replyAll, callbackUrl}`.
    replyAll -1 calls nothing back, 0 private chats and @-messages only, 1 everything."""
    state = request.app[STATE]
    robot = robot_of(request)
    body = await read_object(request)
    try:
        reply_all = int(body.get("replyAll", robot.reply_all))
        open_callback = int(body.get("openCallback", robot.open_callback))
    except (TypeError, ValueError) as exc:
        raise SimApiError(BAD_REQUEST, "replyAll/openCallback必须是整数") from exc
    if reply_all not in (-1, 0, 1):
        raise SimApiError(BAD_REQUEST, "replyAll必须是-1, 0或1")
    url = body.get("callbackUrl")
    if isinstance(url, str) and url:
        await _bind(state, robot, MESSAGE_CALLBACK_TYPE, url)
    robot.reply_all, robot.open_callback = reply_all, open_callback
    return respond(None)
