"""The commands layer end to end in-process: the real app (callbacks, API), the dispatcher and the
60-second check on an injected clock, a real Redis, both databases, and a local fake WorkTool cloud."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import FrozenClock
from bot.commands.dispatch import CommandDeps, dispatch_robot
from bot.commands.results import check_results
from bot.keys import OUTCOMES, REDIS, SETTINGS
from bot.worktool.client import WorkToolClient
from bot.worktool.ratelimit import RequestBudget
from models.commands import Command, CommandStatus
from models.robots import Robot, RobotStatusEvent
from tests.conftest import ADMIN_TOKEN, CALLBACK_TOKEN

Client = TestClient[Any, Any]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Cloud:
    """WorkTool's command API: numbered messageIds, a scripted rawMsg/list, every request recorded."""

    def __init__(self) -> None:
        self.sends: list[dict[str, Any]] = []
        self.polls: list[str] = []
        self.executed: dict[str, list[dict[str, Any]]] = {}  # what rawMsg/list reports per messageId
        self.hang = False

    async def send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sends.append(body)
        if self.hang:
            raise web.HTTPGatewayTimeout
        return web.json_response({"code": 200, "message": "操作成功", "data": f"17844172507850{len(self.sends):05d}"})

    async def raw_list(self, request: web.Request) -> web.Response:
        self.polls.append(request.query["messageId"])
        rows = self.executed.get(request.query["messageId"], [])
        return web.json_response({"code": 200, "message": "操作成功", "data": rows})


@pytest.fixture
async def cloud(aiohttp_server: Callable[..., Any]) -> tuple[Cloud, TestServer]:
    fake = Cloud()
    app = web.Application()
    app.router.add_post("/wework/sendRawMessage", fake.send)
    app.router.add_get("/robot/rawMsg/list", fake.raw_list)
    return fake, await aiohttp_server(app)


@pytest.fixture
async def deps(client: Client, cloud: tuple[Cloud, TestServer], clock: FrozenClock) -> AsyncIterator[CommandDeps]:
    app = client.app
    async with aiohttp.ClientSession() as session:
        worktool = WorkToolClient(session, str(cloud[1].make_url("")), RequestBudget(app[REDIS], 1000, 60), 5.0)
        yield CommandDeps(app[SETTINGS], app[REDIS], clock, worktool, app[OUTCOMES])


async def say(client: Client, text: str, group: str = "客户群1", robot: str = "wt-robot-1") -> None:
    body = {"spoken": text, "receivedName": "号主A", "groupName": group, "roomType": 1}
    resp = await client.post(f"/worktool/{robot}/message?token={CALLBACK_TOKEN}", json=body)
    assert resp.status == 200


async def send(client: Client, text: str, key: str | None = None, group: str = "客户群1") -> dict[str, Any]:
    body: dict[str, Any] = {"conversation": group, "text": text}
    if key:
        body["idempotency_key"] = key
    resp = await client.post("/api/messages/send", json=body, headers=ADMIN)
    payload: dict[str, Any] = await resp.json()
    assert resp.status in (200, 202), payload
    data: dict[str, Any] = payload["data"]
    return data


async def result(client: Client, command: Command, error_code: int = 0, **extra: Any) -> None:
    raw = {"type": 203, "titleList": [command.target], "receivedContent": command.content}
    body = {
        "messageId": command.worktool_message_id,
        "errorCode": error_code,
        "errorReason": "" if error_code == 0 else "未找到聊天窗口",
        "runTime": 1763604000000,
        "timeCost": 2.5,
        "type": 203,
        "rawMsg": json.dumps(raw, ensure_ascii=False),
        **extra,
    }
    resp = await client.post(f"/worktool/{command.robot_id}/result?token={CALLBACK_TOKEN}", json=body)
    assert resp.status == 200


async def test_a_reply_goes_out_once_and_its_result_is_recorded(
    client: Client, deps: CommandDeps, cloud: tuple[Cloud, TestServer]
) -> None:
    await say(client, "在吗")
    queued = await send(client, "您好，在的", key="k1")
    assert queued["robot_id"] == "wt-robot-1"
    assert await dispatch_robot(deps, "wt-robot-1") == 1
    assert await dispatch_robot(deps, "wt-robot-1") == 0  # nothing left to send
    assert cloud[0].sends == [
        {"socketType": 2, "list": [{"type": 203, "titleList": ["客户群1"], "receivedContent": "您好，在的"}]}
    ]
    command = await Command.get(id=queued["command_ids"][0])
    assert command.status is CommandStatus.SENT
    await result(client, command)
    resp = await client.get(f"/api/commands/{command.id}/status", headers=ADMIN)
    data = (await resp.json())["data"]
    assert (data["status"], data["result_source"], data["late"], data["time_cost_s"]) == (
        "succeeded",
        "callback",
        False,
        2.5,
    )
    assert (await send(client, "您好，在的", key="k1"))["created"] is False  # the same key never sends twice


async def test_no_result_in_60_s_becomes_unknown_and_is_never_resent(
    client: Client, deps: CommandDeps, cloud: tuple[Cloud, TestServer], clock: FrozenClock
) -> None:
    await say(client, "在吗")
    queued = await send(client, "稍等，马上处理")
    await dispatch_robot(deps, "wt-robot-1")
    clock.advance(timedelta(seconds=59))
    assert await check_results(deps.client, clock.now(), deps.outcomes) == 0
    assert cloud[0].polls == []  # not due yet
    clock.advance(timedelta(seconds=1))
    assert await check_results(deps.client, clock.now(), deps.outcomes) == 1
    command = await Command.get(id=queued["command_ids"][0])
    assert command.status is CommandStatus.UNKNOWN
    assert cloud[0].polls == [command.worktool_message_id]  # rawMsg/list was asked first
    robot = await Robot.get(id="wt-robot-1")
    assert (robot.unknown_results, robot.last_unknown_at) == (1, clock.now())
    assert await check_results(deps.client, clock.now(), deps.outcomes) == 0  # idempotent
    clock.advance(timedelta(minutes=5))
    assert await dispatch_robot(deps, "wt-robot-1") == 0
    assert len(cloud[0].sends) == 1  # never re-sent
    # A late result is still recorded.
    await result(client, command)
    await command.refresh_from_db()
    assert (command.status, command.late) == (CommandStatus.SUCCEEDED, True)


async def test_the_poll_finds_a_result_whose_callback_was_lost(
    client: Client, deps: CommandDeps, cloud: tuple[Cloud, TestServer], clock: FrozenClock
) -> None:
    await say(client, "在吗")
    queued = await send(client, "已为您重新发送二维码")
    await dispatch_robot(deps, "wt-robot-1")
    command = await Command.get(id=queued["command_ids"][0])
    raw = json.dumps({"type": 203, "titleList": ["客户群1"], "receivedContent": command.content}, ensure_ascii=False)
    assert command.worktool_message_id is not None
    cloud[0].executed[command.worktool_message_id] = [
        {
            "messageId": command.worktool_message_id,
            "rawMsg": raw,
            "rawSuccess": 0,
            "errorReason": "",
            "runTime": "2026-11-20T10:00:05",
            "type": 203,
            "successList": '["客户群1"]',
            "failList": "[]",
            "timeCost": 3.1,
        }
    ]
    clock.advance(timedelta(seconds=60))
    assert await check_results(deps.client, clock.now(), deps.outcomes) == 0
    await command.refresh_from_db()
    assert (command.status, command.result_source, command.success_list) == (
        CommandStatus.SUCCEEDED,
        "poll",
        ["客户群1"],
    )


async def test_a_long_text_goes_in_one_request_and_each_result_finds_its_part(
    client: Client, deps: CommandDeps, cloud: tuple[Cloud, TestServer]
) -> None:
    await say(client, "在吗")
    long_text = "。".join(f"第{i}条说明文字比较长需要分段发送" for i in range(150))
    queued = await send(client, long_text)
    assert len(queued["command_ids"]) > 2
    assert await dispatch_robot(deps, "wt-robot-1") == len(queued["command_ids"])
    assert len(cloud[0].sends) == 1
    assert len(cloud[0].sends[0]["list"]) == len(queued["command_ids"])
    parts = await Command.filter(id__in=queued["command_ids"]).order_by("part")
    await result(client, parts[-1], error_code=201101)  # results come in any order
    for part in parts[:-1]:
        await result(client, part)
    statuses = [(await Command.get(id=p.id)).status for p in parts]
    assert statuses == [CommandStatus.SUCCEEDED] * (len(parts) - 1) + [CommandStatus.FAILED]


async def test_pacing_holds_under_a_burst(
    client: Client, deps: CommandDeps, cloud: tuple[Cloud, TestServer], clock: FrozenClock
) -> None:
    await say(client, "在吗", group="客户群1")
    await say(client, "在吗", group="客户群2")
    for i in range(10):
        await send(client, f"回复{i}", group=f"客户群{i % 2 + 1}")
    pacing = deps.settings.worktool.pacing
    sent_times = []
    for _ in range(400):  # 100 s in 0.25 s steps
        if await dispatch_robot(deps, "wt-robot-1"):
            sent_times.append(clock.now())
        clock.advance(timedelta(milliseconds=250))
    assert len(sent_times) == 10
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent_times)]
    assert min(gaps) >= pacing.min_gap_s
    assert max(gaps) <= pacing.min_gap_s + pacing.jitter_s + 0.25
    assert len({round(g, 2) for g in gaps}) > 3  # jittered, not machine-regular
    for start in sent_times:
        assert sum(start <= t < start + timedelta(minutes=1) for t in sent_times) <= pacing.per_minute


async def test_a_send_whose_outcome_is_unknown_is_never_repeated(
    client: Client, deps: CommandDeps, cloud: tuple[Cloud, TestServer], clock: FrozenClock
) -> None:
    await say(client, "在吗")
    cloud[0].hang = True  # WorkTool answers 504: it may have queued the command
    queued = await send(client, "好的")
    await dispatch_robot(deps, "wt-robot-1")
    command = await Command.get(id=queued["command_ids"][0])
    assert (command.status, command.worktool_message_id) == (CommandStatus.SENT, None)
    clock.advance(timedelta(seconds=61))
    await dispatch_robot(deps, "wt-robot-1")
    assert await check_results(deps.client, clock.now(), deps.outcomes) == 1
    assert len(cloud[0].sends) == 1
    assert cloud[0].polls == []  # no messageId to ask about


async def test_refusals_say_why(client: Client, cloud: tuple[Cloud, TestServer]) -> None:
    await say(client, "在吗")
    cases = [
        ({"conversation": "客户群1", "text": "我是AI助手"}, 422, "banned phrase"),
        ({"conversation": "没有这个群", "text": "hi"}, 404, "no conversation named"),
        ({"conversation_id": 1, "conversation": "客户群1", "text": "hi"}, 400, "exactly one"),
        ({"conversation": "客户群1", "text": "hi", "robot_id": "wt-robot-2"}, 409, "lacks the reply role"),
        ({"conversation": "客户群1", "text": 5}, 400, "text"),
    ]
    for body, status, words in cases:
        resp = await client.post("/api/messages/send", json=body, headers=ADMIN)
        payload = await resp.json()
        assert resp.status == status, payload
        assert words in payload["message"]
    for i in range(cap := 6):
        await send(client, f"消息{i}")
    resp = await client.post("/api/messages/send", json={"conversation": "客户群1", "text": "再一条"}, headers=ADMIN)
    assert resp.status == 429
    assert f"{cap} messages in the last minute" in (await resp.json())["message"]
    assert int(resp.headers["Retry-After"]) > 0


async def test_a_robot_that_never_saw_the_group_cannot_send_into_it(client: Client) -> None:
    await say(client, "在吗", robot="wt-robot-2")  # only the after-sales robot sits in this group
    resp = await client.post("/api/messages/send", json={"conversation": "客户群1", "text": "hi"}, headers=ADMIN)
    payload = await resp.json()
    assert resp.status == 409
    assert "wt-robot-1: has not seen this conversation" in payload["message"]
    assert "wt-robot-2: lacks the reply role" in payload["message"]


async def test_robots_api_shows_state_and_reach(client: Client, deps: CommandDeps) -> None:
    await say(client, "在吗")
    await say(client, "在吗", robot="wt-robot-2")  # the same message seen by the second robot
    await send(client, "您好")
    await dispatch_robot(deps, "wt-robot-1")
    resp = await client.get("/api/robots", headers=ADMIN)
    robots = {r["id"]: r for r in (await resp.json())["data"]}
    assert robots["wt-robot-1"]["conversations"] == 1
    assert robots["wt-robot-2"]["conversations"] == 1  # a sighting counts as being there
    assert robots["wt-robot-1"]["commands_last_24h"] == {"sent": 1}
    assert robots["wt-robot-1"]["health"] == 90  # online state not known yet


async def test_a_file_goes_out_as_a_218_command(
    client: Client, deps: CommandDeps, cloud: tuple[Cloud, TestServer]
) -> None:
    await say(client, "二维码发我一下")
    file = {"url": "https://cdn.example.com/qr/123.png", "name": "qr-123.png", "type": "image"}
    body = {"conversation": "客户群1", "text": "请用手机扫码", "file": file}
    resp = await client.post("/api/messages/send", json=body, headers=ADMIN)
    assert resp.status == 202, await resp.text()
    await dispatch_robot(deps, "wt-robot-1")
    assert cloud[0].sends[-1]["list"] == [
        {
            "type": 218,
            "titleList": ["客户群1"],
            "objectName": "qr-123.png",
            "fileUrl": "https://cdn.example.com/qr/123.png",
            "fileType": "image",
            "extraText": "请用手机扫码",
        }
    ]
    bad = {"conversation": "客户群1", "file": {**file, "name": "qr.webp"}}
    resp = await client.post("/api/messages/send", json=bad, headers=ADMIN)
    assert resp.status == 400
    assert "webp" in (await resp.json())["message"]


async def test_an_offline_robot_is_not_chosen(client: Client) -> None:
    await say(client, "在吗")
    resp = await client.post(
        f"/worktool/wt-robot-1/status?token={CALLBACK_TOKEN}", json={"type": 6, "status": "offline"}
    )
    assert resp.status == 200
    resp = await client.post("/api/messages/send", json={"conversation": "客户群1", "text": "hi"}, headers=ADMIN)
    assert resp.status == 409
    assert "wt-robot-1: offline" in (await resp.json())["message"]
    await client.post(f"/worktool/wt-robot-1/status?token={CALLBACK_TOKEN}", json={"type": 5})
    resp = await client.post("/api/messages/send", json={"conversation": "客户群1", "text": "hi"}, headers=ADMIN)
    assert resp.status == 202
    events = await RobotStatusEvent.filter(robot_id="wt-robot-1").order_by("id").values_list("online", "source")
    assert events == [(False, "callback"), (True, "callback")]
