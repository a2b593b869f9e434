"""Result behaviours: on time, late, failed, partial, never; offline robots; per-command overrides; echo."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.simulator import ResultBehaviour
from tests.bot.simulator.conftest import BASE_SCENARIO, SCALE, Receiver, SimFactory, text


def with_result(**result: Any) -> dict[str, Any]:
    robots = [{**BASE_SCENARIO["robots"][0], "result": result}, BASE_SCENARIO["robots"][1]]
    return {**BASE_SCENARIO, "robots": robots, "echo": False}


@pytest.mark.parametrize(
    ("result", "titles", "code", "reason", "success", "fail"),
    [
        ({"mode": "on_time"}, ["甲", "乙"], 0, "", ["甲", "乙"], []),
        ({"mode": "failed"}, ["甲"], 201101, "未找到聊天窗口", [], ["甲"]),
        ({"mode": "failed", "error_code": 201104}, ["甲"], 201104, "未找到目标", [], ["甲"]),
        ({"mode": "partial"}, ["甲", "乙", "丙"], 201102, "发送失败", ["甲", "丙"], ["乙"]),
        ({"mode": "partial"}, ["甲"], 201102, "发送失败", [], ["甲"]),
    ],
)
async def test_result_modes(
    make_sim: SimFactory,
    receiver: Receiver,
    result: dict[str, Any],
    titles: list[str],
    code: int,
    reason: str,
    success: list[str],
    fail: list[str],
) -> None:
    sim = await make_sim(with_result(**result))
    answer = await sim.send([{"type": 203, "titleList": titles, "receivedContent": "你好"}])
    await sim.state.drain()
    [callback] = receiver.of("result")
    assert callback.body["messageId"] == answer["data"]
    assert callback.body["errorCode"] == code
    assert callback.body["errorReason"] == reason
    assert (callback.body["successList"], callback.body["failList"]) == (success, fail)
    [row] = await sim.polled()
    assert row["rawSuccess"] == (0 if code == 0 else 1)
    assert row["errorReason"] == reason


async def test_late_result_arrives_after_the_scaled_delay(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(with_result(mode="late", delay_s=30))  # 0.3 s at SCALE 100
    started = time.monotonic()
    answer = await sim.send([text()])
    await asyncio.sleep(0.1)
    assert receiver.of("result") == []
    assert await sim.polled() == []
    [callback] = await receiver.wait_for(1, "result")
    assert time.monotonic() - started >= 30 / SCALE
    assert callback.body["messageId"] == answer["data"]
    assert callback.body["errorCode"] == 0


def test_default_delays() -> None:
    assert ResultBehaviour(mode="late").effective_delay_s == 90.0
    assert ResultBehaviour().effective_delay_s == 1.0


@pytest.mark.parametrize("visible", [True, False])
async def test_never_executes_without_a_callback(make_sim: SimFactory, receiver: Receiver, visible: bool) -> None:
    sim = await make_sim(with_result(mode="never", visible_in_poll=visible))
    answer = await sim.send([text()])
    await sim.state.drain()
    assert receiver.of("result") == []
    assert [c.outcome for c in sim.state.commands] == ["lost"]
    rows = await sim.polled(messageId=answer["data"])
    assert [r["rawSuccess"] for r in rows] == ([0] if visible else [])


async def test_offline_robot_queues_until_it_is_back(make_sim: SimFactory, receiver: Receiver) -> None:
    scenario = {**BASE_SCENARIO, "robots": [{"id": "wt-robot-1", "name": "小助手", "online": False}]}
    scenario["groups"] = []
    sim = await make_sim(scenario)
    answer = await sim.send([text("甲"), text("乙")])
    assert answer["code"] == 200  # accepted, not executed
    await asyncio.sleep(0.05)
    await sim.state.drain()
    assert receiver.of("result") == []
    assert await sim.polled() == []
    assert [c["outcome"] for c in (await sim.call("GET", "/_sim/commands"))["data"]] == ["queued", "queued"]

    robot = await sim.call("POST", "/_sim/robots/wt-robot-1", {"online": True})
    assert robot["data"]["online"] is True
    results = await receiver.wait_for(2, "result")
    assert [r.body["successList"] for r in results] == [["甲"], ["乙"]]
    assert {r.body["messageId"] for r in results} == {answer["data"]}
    [status] = receiver.of("status")
    assert (status.robot_id, status.body["type"], status.body["status"]) == ("wt-robot-1", 5, "online")


async def test_going_offline_posts_type_6_and_holds_later_commands(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(with_result(delay_s=20))  # 0.2 s
    await sim.send([text()])
    await sim.call("POST", "/_sim/robots/wt-robot-1", {"online": False})
    await sim.state.drain()
    assert receiver.of("result") == []  # it was due while the robot was offline
    assert [s.body["type"] for s in receiver.of("status")] == [6]
    assert [c.outcome for c in sim.state.commands] == ["queued"]


async def test_patched_behaviour_applies_to_later_commands(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(with_result())
    await sim.call("POST", "/_sim/robots/wt-robot-1", {"result": {"mode": "failed", "error_code": 201103}})
    await sim.send([text()])
    await sim.state.drain()
    assert [r.body["errorCode"] for r in receiver.of("result")] == [201103]
    bad = await sim.call("POST", "/_sim/robots/wt-robot-1", {"result": {"mode": "sometimes"}})
    assert bad["_status"] == 400
    assert "result.mode" in bad["message"]


async def test_override_matches_content_and_is_used_up(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(with_result())
    added = await sim.call("POST", "/_sim/overrides", {"match": "退款", "mode": "failed", "times": 1})
    assert added["code"] == 200
    await sim.send([text(content="关于退款"), text(content="别的事")])
    await sim.send([text(content="再问退款")])
    await sim.state.drain()
    codes = {r.body["rawMsg"]: r.body["errorCode"] for r in receiver.of("result")}
    assert sorted(codes.values()) == [0, 0, 201101]
    assert next(code for raw, code in codes.items() if "关于退款" in raw) == 201101
    assert sim.state.overrides == []


async def test_override_from_the_scenario_never_answers(make_sim: SimFactory, receiver: Receiver) -> None:
    scenario = {**with_result(), "overrides": [{"match": "[丢失]", "mode": "never", "robot": "wt-robot-1"}]}
    sim = await make_sim(scenario)
    await sim.send([text(content="[丢失] 这条没有回调"), text(content="这条有")])
    await sim.send([text(content="[丢失] 别的机器人照常")], robot_id="wt-robot-2")
    await sim.state.drain()
    contents = sorted(r.body["rawMsg"] for r in receiver.of("result"))
    assert len(contents) == 2
    assert not any("这条没有回调" in c for c in contents)


async def test_echo_by_the_other_robots_of_the_group(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim()
    await sim.send([text("客户群1", "稍等，我查一下"), text("号主A", "私聊不回显")])
    await sim.send([text("客户群1", "请看这里", atList=["售后助手"])])
    await sim.state.drain()
    echoes = receiver.of("message")
    assert {e.robot_id for e in echoes} == {"wt-robot-2"}  # never the sender itself
    assert [e.body["spoken"] for e in echoes] == ["稍等，我查一下", "请看这里"]
    plain, mention = (e.body for e in echoes)
    assert plain["receivedName"] == "小助手"
    assert plain["groupName"] == "客户群1"
    assert (plain["roomType"], plain["atMe"], plain["textType"]) == (1, False, 1)
    assert "groupRemark" not in plain
    assert mention["atMe"] is True
    assert mention["rawSpoken"] == "@售后助手 请看这里"


async def test_no_echo_for_failed_sends_or_when_off(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim({**BASE_SCENARIO, "overrides": [{"match": "失败", "mode": "failed"}]})
    await sim.send([text("客户群1", "失败了")])
    await sim.state.drain()
    assert receiver.of("message") == []
    quiet = await make_sim({**BASE_SCENARIO, "echo": False})
    await quiet.send([text("客户群1", "没有回显")])
    await quiet.state.drain()
    assert receiver.of("message") == []


async def test_cleanup_cancels_pending_work(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(with_result(mode="late"), time_scale=1.0)  # 90 s: still pending at cleanup
    await sim.send([text()])
    assert sim.state.tasks
    await sim.client.close()
    assert not sim.state.tasks
    assert sim.state.session is None
    assert receiver.of("result") == []
