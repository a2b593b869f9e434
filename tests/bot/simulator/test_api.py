"""The WorkTool API of the simulator: sendRawMessage, result callbacks of a batch, rawMsg/list, robot info."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bot.simulator.conftest import TOKEN, Receiver, SimFactory, text

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "worktool"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return data


async def test_send_answers_code_200_and_a_19_digit_message_id(make_sim: SimFactory) -> None:
    sim = await make_sim()
    first = await sim.call(
        "POST", "/wework/sendRawMessage", sample("20_cmd_203_send_text_doc.json"), robotId="wt-robot-1"
    )
    second = await sim.send([text()])
    assert first["_status"] == 200
    assert (first["code"], first["message"]) == (200, "操作成功")
    assert re.fullmatch(r"\d{19}", first["data"])
    assert re.fullmatch(r"\d{19}", second["data"])
    assert int(second["data"]) > int(first["data"])


@pytest.mark.parametrize(
    ("robot_id", "body", "code", "message"),
    [
        ("nobody", {"socketType": 2, "list": [text()]}, 500, "robotId不存在"),
        ("wt-robot-1", {"socketType": 1, "list": [text()]}, 400, "socketType"),
        ("wt-robot-1", {"socketType": 2, "list": []}, 400, "list不能为空"),
        ("wt-robot-1", {"socketType": 2, "list": [text()] * 101}, 400, "最多100条"),
        ("wt-robot-1", {"socketType": 2, "list": [{"titleList": ["a"]}]}, 400, "list[0]"),
        ("wt-robot-1", [1, 2], 400, "JSON对象"),
    ],
)
async def test_send_refusals_keep_http_200_and_say_why(
    make_sim: SimFactory, robot_id: str, body: Any, code: int, message: str
) -> None:
    sim = await make_sim()
    answer = await sim.call("POST", "/wework/sendRawMessage", body, robotId=robot_id)
    assert answer["_status"] == 200
    assert answer["code"] == code
    assert message in answer["message"]
    assert answer["data"] is None
    assert sim.state.commands == []


async def test_malformed_json_is_refused(make_sim: SimFactory) -> None:
    sim = await make_sim()
    resp = await sim.client.post("/wework/sendRawMessage?robotId=wt-robot-1", data=b"{not json")
    answer = await resp.json()
    assert answer["code"] == 400
    assert "JSON" in answer["message"]


async def test_exactly_100_commands_are_accepted(make_sim: SimFactory) -> None:
    sim = await make_sim()
    answer = await sim.send([text(content=f"第{i}条") for i in range(100)])
    assert answer["code"] == 200
    assert len(sim.state.commands) == 100


async def test_a_batch_gets_one_result_callback_per_command_with_the_same_message_id(
    make_sim: SimFactory, receiver: Receiver
) -> None:
    sim = await make_sim()
    batch = sample("22_cmd_batch_doc.json")
    before_ms = time.time() * 1000
    answer = await sim.call("POST", "/wework/sendRawMessage", batch, robotId="wt-robot-2")
    results = await receiver.wait_for(3, "result")
    await sim.state.drain()
    assert len(receiver.of("result")) == 3
    assert {r.robot_id for r in results} == {"wt-robot-2"}
    assert {r.token for r in results} == {TOKEN}
    bodies = [r.body for r in results]
    assert {b["messageId"] for b in bodies} == {answer["data"]}
    assert [b["type"] for b in bodies] == [203, 203, 218]
    for body, command in zip(bodies, batch["list"], strict=True):
        assert body["errorCode"] == 0
        assert body["errorReason"] == ""
        assert isinstance(body["runTime"], int)
        assert before_ms - 5000 < body["runTime"] <= time.time() * 1000
        assert isinstance(body["timeCost"], float)
        assert body["successList"] == command["titleList"]
        assert body["failList"] == []
        raw = json.loads(body["rawMsg"])
        assert raw["messageId"] == answer["data"]
        assert raw["apiSend"] == 1
        assert raw["titleList"] == command["titleList"]
        assert raw["type"] == command["type"]
        assert raw.get("receivedContent") == command.get("receivedContent")


async def test_raw_msg_list_shows_executed_commands_like_the_live_service(make_sim: SimFactory) -> None:
    scenario = {"robots": [{"id": "wt-robot-1", "name": "小助手", "result": {"delay_s": 1}}]}
    sim = await make_sim(scenario)
    done = await sim.send([text("仑哥", "周期消息")])
    await sim.state.drain()
    slow = await sim.send([text("仑哥", "还在排队")])
    rows = await sim.polled()
    assert [r["messageId"] for r in rows] == [done["data"]]  # the pending one is not there yet
    row = rows[0]
    assert row["rawSuccess"] == 0
    assert row["apiSend"] == 1
    assert row["robotId"] == "wt-robot-1"
    assert row["type"] == 203
    assert row["successList"] == '["仑哥"]'
    assert row["failList"] == "[]"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row["runTime"])
    assert json.loads(row["rawMsg"])["receivedContent"] == "周期消息"
    await sim.state.drain()
    assert [r["messageId"] for r in await sim.polled()] == [slow["data"], done["data"]]  # newest first
    assert [r["messageId"] for r in await sim.polled(messageId=done["data"])] == [done["data"]]
    assert [r["messageId"] for r in await sim.polled(page="0", size="1")] == [slow["data"]]
    assert [r["messageId"] for r in await sim.polled(page="2", size="1")] == [done["data"]]


async def test_raw_msg_list_as_a_page_object_with_a_capped_size(make_sim: SimFactory) -> None:
    cloud = {"raw_msg_shape": "object", "raw_msg_max_size": 2}
    sim = await make_sim({"robots": [{"id": "wt-robot-1", "name": "小助手"}], "echo": False, "cloud": cloud})
    sent = await sim.send([text("甲"), text("乙"), text("丙")])
    await sim.state.drain()
    pages = [
        (await sim.call("GET", "/robot/rawMsg/list", robotId="wt-robot-1", messageId=sent["data"], page=p, size="100"))
        for p in ("1", "2", "3")
    ]
    assert [(d["data"]["page"], d["data"]["size"], d["data"]["total"], d["data"]["totalPage"]) for d in pages] == [
        (1, 2, 3, 2),
        (2, 2, 3, 2),
        (3, 2, 3, 2),
    ]
    titles = [json.loads(row["successList"]) for d in pages for row in d["data"]["list"]]
    assert sorted(titles) == [["丙"], ["乙"], ["甲"]]
    assert pages[2]["data"]["list"] == []


async def test_robot_info_and_online(make_sim: SimFactory) -> None:
    sim = await make_sim()
    info = await sim.call("GET", "/robot/robotInfo/get", robotId="wt-robot-2")
    assert info["code"] == 200
    assert info["data"]["robotId"] == "wt-robot-2"
    assert info["data"]["name"] == "售后助手"
    assert set(sample("61_robotInfo_get_response_doc_example.json")["data"]) <= set(info["data"])
    assert (await sim.call("GET", "/robot/robotInfo/online", robotId="wt-robot-2"))["data"] is True
    await sim.call("POST", "/_sim/robots/wt-robot-2", {"online": False})
    assert (await sim.call("GET", "/robot/robotInfo/online", robotId="wt-robot-2"))["data"] is False
    unknown = await sim.call("GET", "/robot/robotInfo/online", robotId="nobody")
    assert (unknown["code"], unknown["message"], unknown["data"]) == (500, "robotId不存在", None)


async def test_control_endpoints_record_requests_and_commands(make_sim: SimFactory) -> None:
    sim = await make_sim()
    answer = await sim.send([text(), text("客户群2", "第二条")])
    await sim.call("GET", "/robot/robotInfo/online", robotId="wt-robot-1")
    await sim.state.drain()
    requests = (await sim.call("GET", "/_sim/requests"))["data"]
    assert [(r["method"], r["path"], r["robotId"], r["status"]) for r in requests] == [
        ("POST", "/wework/sendRawMessage", "wt-robot-1", 200),
        ("GET", "/robot/robotInfo/online", "wt-robot-1", 200),
    ]
    assert requests[0]["monotonic"] <= requests[1]["monotonic"]
    assert requests[0]["remote"] == "127.0.0.1"
    commands = (await sim.call("GET", "/_sim/commands"))["data"]
    assert [(c["messageId"], c["index"], c["outcome"]) for c in commands] == [
        (answer["data"], 0, "succeeded"),
        (answer["data"], 1, "succeeded"),
    ]
    assert commands[1]["command"]["receivedContent"] == "第二条"
    assert all(c["resultPostedAt"] is not None for c in commands)
    stats = (await sim.call("GET", "/_sim/stats"))["data"]
    assert stats["requests"] == 2  # control calls are not WorkTool requests
    assert stats["commands"] == 2
    assert stats["callbacksPosted"] >= 2
    assert stats["callbacksFailed"] == 0
