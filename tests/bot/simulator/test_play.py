"""Playing a message timeline: what each robot posts, duplicates, form mode, string atMe, private chats."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from bot.callbacks.payloads import MessageCallback
from bot.simulator import SimState, create_sim_app, load_scenario
from tests.bot.simulator.conftest import BASE_SCENARIO, SCALE, TOKEN, Receiver, SimFactory

DEMO = Path(__file__).resolve().parents[3] / "scripts" / "scenarios" / "demo.yaml"


def scenario(*messages: dict[str, Any]) -> dict[str, Any]:
    return {**BASE_SCENARIO, "messages": list(messages)}


async def test_a_group_message_reaches_every_robot_of_the_group(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(scenario({"group": "客户群1", "from": "号主A", "text": "二维码过期了", "at_me": True}))
    assert (await sim.call("POST", "/_sim/play"))["data"] == {"messages": 1}
    await sim.state.drain()
    by_robot = {r.robot_id: r for r in receiver.of("message")}
    assert set(by_robot) == {"wt-robot-1", "wt-robot-2"}
    assert {r.token for r in by_robot.values()} == {TOKEN}
    mentioned, other = by_robot["wt-robot-1"].body, by_robot["wt-robot-2"].body
    assert mentioned == {
        "spoken": "二维码过期了",
        "rawSpoken": "@小助手 二维码过期了",
        "receivedName": "号主A",
        "groupName": "客户群1",
        "roomType": 1,
        "atMe": True,
        "textType": 1,
        "messageId": mentioned["messageId"],
    }
    assert re.fullmatch(r"\d{19}", mentioned["messageId"])
    assert other["atMe"] is False
    assert other["spoken"] == other["rawSpoken"] == "@小助手 二维码过期了"  # not its own @: kept
    assert other["messageId"] != mentioned["messageId"]
    for received in by_robot.values():  # the hub's own model reads them
        assert MessageCallback.model_validate(received.body).received_name == "号主A"


async def test_duplicates_form_string_at_me_private_and_no_message_id(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(
        scenario(
            {"group": "客户群2", "from": "号主B", "text": "重复", "duplicate": 2, "duplicate_after_s": 5},
            {"group": "客户群2", "from": "号主B", "text": "表单", "form": True, "at_me": True},
            {"group": "客户群2", "from": "号主B", "text": "字符串", "at_me_as_string": True},
            {"private": "号主C", "text": "私聊", "with_message_id": False},
        )
    )
    await sim.call("POST", "/_sim/play")
    await sim.state.drain()
    received = receiver.of("message")
    assert {r.robot_id for r in received} == {"wt-robot-1"}  # the only robot in 客户群2, first robot for private
    texts = [r.body["spoken"] for r in received]
    assert sorted(texts) == sorted(["重复"] * 3 + ["表单", "字符串", "私聊"])
    copies = [r.body for r in received if r.body["spoken"] == "重复"]
    assert all(c == copies[0] for c in copies)  # identical, same messageId
    assert copies[0]["groupName"] == "号主B的群"
    assert copies[0]["groupRemark"] == "客户群2"

    [form] = [r for r in received if r.body["spoken"] == "表单"]
    assert form.content_type == "application/x-www-form-urlencoded"
    assert (form.body["atMe"], form.body["roomType"], form.body["textType"]) == ("true", "1", "1")
    assert MessageCallback.model_validate(form.body).at_me is True

    [string] = [r for r in received if r.body["spoken"] == "字符串"]
    assert string.content_type == "application/json"
    assert string.body["atMe"] == "false"

    [private] = [r for r in received if r.body["spoken"] == "私聊"]
    assert private.body["receivedName"] == "号主C"
    assert (private.body["groupName"], private.body["roomType"]) == ("", 2)
    assert "messageId" not in private.body
    assert "groupRemark" not in private.body


async def test_the_timeline_keeps_its_order_and_scaled_gaps(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(
        scenario(
            {"group": "客户群2", "from": "号主B", "text": "一"},
            {"after_s": 20, "group": "客户群2", "from": "号主B", "text": "二"},  # 0.2 s
        )
    )
    started = time.monotonic()
    await sim.call("POST", "/_sim/play")
    await receiver.wait_for(1, "message")
    assert time.monotonic() - started < 20 / SCALE
    await receiver.wait_for(2, "message")
    assert time.monotonic() - started >= 20 / SCALE
    assert [r.body["spoken"] for r in receiver.of("message")] == ["一", "二"]


async def test_inline_timeline_and_its_errors(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim()
    messages = [{"group": "客户群1", "from": "售后小王", "text": "稍等", "to_robots": ["wt-robot-2"]}]
    assert (await sim.call("POST", "/_sim/play", {"messages": messages}))["code"] == 200
    await sim.state.drain()
    assert [(r.robot_id, r.body["spoken"]) for r in receiver.of("message")] == [("wt-robot-2", "稍等")]
    bad = await sim.call("POST", "/_sim/play", {"messages": [{"group": "无此群", "from": "甲", "text": "x"}]})
    assert bad["_status"] == 400
    assert "messages.0.group: unknown group '无此群'" in bad["message"]
    bad = await sim.call("POST", "/_sim/play", {"messages": [{"group": "客户群2", "from": "甲", "txt": "x"}]})
    assert bad["_status"] == 400
    assert "messages.0.txt" in bad["message"]


async def test_an_offline_robot_does_not_call_back(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(scenario({"group": "客户群1", "from": "号主A", "text": "有人吗"}))
    await sim.call("POST", "/_sim/robots/wt-robot-2", {"online": False})
    await sim.call("POST", "/_sim/play")
    await sim.state.drain()
    assert [r.robot_id for r in receiver.of("message")] == ["wt-robot-1"]


async def test_the_demo_scenario_plays_to_the_hub_layout(aiohttp_client: Any, receiver: Receiver) -> None:
    state = SimState(load_scenario(DEMO), hub_url=receiver.url, token=TOKEN, time_scale=1000)
    await aiohttp_client(create_sim_app(state, play_on_start=True))
    await state.drain()
    received = receiver.of("message")
    # 9 group messages x 2 robots, 1 duplicate re-delivery x 2 robots, 1 private chat
    assert len(received) == 21
    assert {r.robot_id for r in received} == {"wt-robot-1", "wt-robot-2"}
    assert sum(r.content_type == "application/x-www-form-urlencoded" for r in received) == 2
    assert any(r.body["atMe"] == "true" for r in received)
    assert any(r.body["rawSpoken"].startswith("@小助手 ") and r.body["atMe"] is True for r in received)
    assert [r.robot_id for r in received if r.body["roomType"] == 2] == ["wt-robot-1"]
    for r in received:
        MessageCallback.model_validate(r.body)
    stats = state.stats()
    assert (stats["callbacksPosted"], stats["callbacksFailed"]) == (21, 0)
