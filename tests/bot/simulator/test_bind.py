"""callBack/bind: the test POST, refusals, listing and deleting; robotInfo/update; routing to bound URLs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.bot.simulator.conftest import Receiver, SimFactory, text

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "worktool"


async def bind(sim: Any, url: str, callback_type: int = 1, robot_id: str = "wt-robot-1") -> dict[str, Any]:
    body = {"type": callback_type, "callBackUrl": url}
    answer: dict[str, Any] = await sim.call("POST", "/robot/robotInfo/callBack/bind", body, robotId=robot_id)
    return answer


async def update(sim: Any, url: str, reply_all: int = 1, robot_id: str = "wt-robot-1") -> dict[str, Any]:
    body = {"openCallback": 1, "replyAll": reply_all, "callbackUrl": url}
    answer: dict[str, Any] = await sim.call("POST", "/robot/robotInfo/update", body, robotId=robot_id)
    return answer


async def test_the_message_callback_is_refused_through_callback_bind(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim()
    answer = await bind(sim, f"{receiver.url}/hook/ok", callback_type=11)
    # a business error, as the cloud answers them: HTTP 200, a refusing code, a Chinese message
    assert (answer["_status"], answer["code"], answer["data"]) == (200, 400, None)
    assert "robotInfo/update" in answer["message"]
    assert "消息回调" in answer["message"]
    assert receiver.of("hook") == []  # no test POST: nothing was bound
    assert (await sim.call("GET", "/robot/robotInfo/callBack/get", robotId="wt-robot-1"))["data"] == []
    assert 11 not in sim.state.robots["wt-robot-1"].bindings


async def test_robot_info_update_posts_the_test_payload_and_lists_the_url_as_type_11(
    make_sim: SimFactory, receiver: Receiver
) -> None:
    sim = await make_sim({**BASE_NO_ECHO, "robots": [{"id": "wt-robot-1", "name": "小助手", "reply_all": 0}]})
    answer = await update(sim, f"{receiver.url}/hook/ok?robot=1")
    assert (answer["code"], answer["message"]) == (200, "操作成功")
    [test_post] = receiver.of("hook")
    assert test_post.content_type == "application/json"
    expected = json.loads((SAMPLES / "03_msg_callback_platform_bind_test_payload.json").read_text(encoding="utf-8"))
    assert test_post.body == expected
    listed = await sim.call("GET", "/robot/robotInfo/callBack/get", robotId="wt-robot-1")
    assert [(c["type"], c["callBackUrl"], c["typeName"]) for c in listed["data"]] == [
        (11, f"{receiver.url}/hook/ok?robot=1", "消息回调")
    ]
    assert isinstance(listed["data"][0]["id"], int)
    info = (await sim.call("GET", "/robot/robotInfo/get", robotId="wt-robot-1"))["data"]
    assert (info["openCallback"], info["replyAll"]) == (1, 1)  # was 0 in the scenario


async def test_robot_info_update_is_refused_unless_the_url_answers(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim({**BASE_NO_ECHO, "robots": [{"id": "wt-robot-1", "name": "小助手", "reply_all": 0}]})
    answer = await update(sim, f"{receiver.url}/hook/status500")
    assert (answer["_status"], answer["code"]) == (200, 500)
    assert (await sim.call("GET", "/robot/robotInfo/callBack/get", robotId="wt-robot-1"))["data"] == []
    assert sim.state.robots["wt-robot-1"].reply_all == 0  # nothing changed
    bad = await sim.call("POST", "/robot/robotInfo/update", {"replyAll": 2}, robotId="wt-robot-1")
    assert (bad["code"], bad["message"]) == (400, "replyAll必须是-1, 0或1")


@pytest.mark.parametrize(("hook", "problem"), [("status500", "HTTP 500"), ("text", "not JSON")])
async def test_binding_is_refused_unless_the_url_answers_200_json(
    make_sim: SimFactory, receiver: Receiver, hook: str, problem: str
) -> None:
    sim = await make_sim()
    answer = await bind(sim, f"{receiver.url}/hook/{hook}", callback_type=1)
    assert answer["code"] == 500
    assert problem in answer["message"]
    assert len(receiver.of("hook")) == 1  # it was tried
    assert (await sim.call("GET", "/robot/robotInfo/callBack/get", robotId="wt-robot-1"))["data"] == []


async def test_status_urls_are_bound_without_a_test_post(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim()
    assert (await bind(sim, f"{receiver.url}/hook/status500-online", callback_type=5))["code"] == 200
    assert receiver.of("hook") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [({"type": 7, "callBackUrl": "http://x"}, "type"), ({"type": 1, "callBackUrl": "ftp://x"}, "callBackUrl")],
)
async def test_bad_bind_requests(make_sim: SimFactory, body: dict[str, Any], message: str) -> None:
    sim = await make_sim()
    answer = await sim.call("POST", "/robot/robotInfo/callBack/bind", body, robotId="wt-robot-1")
    assert answer["code"] == 400
    assert message in answer["message"]


async def test_callbacks_go_to_the_bound_url_then_back_to_the_hub_after_delete(
    make_sim: SimFactory, receiver: Receiver
) -> None:
    sim = await make_sim({**BASE_NO_ECHO})
    await bind(sim, f"{receiver.url}/hook/ok-results", callback_type=1)
    await sim.send([text()])
    await sim.state.drain()
    assert [r.body.get("errorCode") for r in receiver.of("hook")] == [None, 0]  # the test POST, then the result
    assert receiver.of("result") == []
    deleted = await sim.call("POST", "/robot/robotInfo/callBack/deleteByType", {"type": 1}, robotId="wt-robot-1")
    assert deleted["code"] == 200
    await sim.send([text()])
    await sim.state.drain()
    assert len(receiver.of("result", "wt-robot-1")) == 1


async def test_robot_info_update_binds_the_message_callback_and_reply_all(
    make_sim: SimFactory, receiver: Receiver
) -> None:
    sim = await make_sim()
    body = {"openCallback": 1, "replyAll": 0, "callbackUrl": f"{receiver.url}/hook/ok-messages"}
    assert (await sim.call("POST", "/robot/robotInfo/update", body, robotId="wt-robot-1"))["code"] == 200
    info = (await sim.call("GET", "/robot/robotInfo/get", robotId="wt-robot-1"))["data"]
    assert (info["replyAll"], info["openCallback"]) == (0, 1)
    messages = [
        {"group": "客户群1", "from": "号主A", "text": "不@机器人", "to_robots": ["wt-robot-1"]},
        {"group": "客户群1", "from": "号主A", "text": "@了机器人", "at_me": True, "to_robots": ["wt-robot-1"]},
    ]
    await sim.call("POST", "/_sim/play", {"messages": messages})
    await sim.state.drain()
    # replyAll 0: only private chats and @me are called back
    assert [r.body["spoken"] for r in receiver.of("hook")[1:]] == ["@了机器人"]


BASE_NO_ECHO: dict[str, Any] = {
    "robots": [{"id": "wt-robot-1", "name": "小助手"}],
    "groups": [],
    "echo": False,
}
