"""replyAll decides which messages the cloud calls back, on every path: the timeline, re-deliveries, echoes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.simulator.conftest import Receiver, SimFactory, text

SCENARIO: dict[str, Any] = {
    "robots": [{"id": "wt-robot-1", "name": "小助手"}, {"id": "wt-robot-2", "name": "售后助手"}],
    "groups": [{"name": "客户群1", "robots": ["wt-robot-1", "wt-robot-2"], "members": [{"name": "号主A"}]}],
}
TIMELINE: list[dict[str, Any]] = [
    {"group": "客户群1", "from": "号主A", "text": "普通群消息", "to_robots": ["wt-robot-1"]},
    {
        "group": "客户群1",
        "from": "号主A",
        "text": "@了机器人",
        "at_me": True,
        "to_robots": ["wt-robot-1"],
        "duplicate": 1,
        "duplicate_after_s": 0,
    },
    {"private": "号主D", "text": "私聊", "to_robots": ["wt-robot-1"]},
]
EVERYTHING = ["普通群消息", "@了机器人", "@了机器人", "私聊", "大家好", "请处理"]


@pytest.mark.parametrize(
    ("reply_all", "open_callback", "expected"),
    [
        (1, 1, EVERYTHING),
        (0, 1, ["@了机器人", "@了机器人", "私聊", "请处理"]),  # private chats and @-messages only
        (-1, 1, []),  # read only
        (1, 0, []),  # the message callback is off
    ],
)
async def test_reply_all_filters_every_kind_of_message_callback(
    make_sim: SimFactory, receiver: Receiver, reply_all: int, open_callback: int, expected: list[str]
) -> None:
    sim = await make_sim(SCENARIO)
    update = {"openCallback": open_callback, "replyAll": reply_all}
    assert (await sim.call("POST", "/robot/robotInfo/update", update, robotId="wt-robot-1"))["code"] == 200
    await sim.call("POST", "/_sim/play", {"messages": TIMELINE})
    await sim.state.drain()
    # the other robot speaks in the group: wt-robot-1 sees it as a message (an echo), once plain, once @-ing it
    await sim.send([text("客户群1", "大家好"), text("客户群1", "请处理", atList=["小助手"])], robot_id="wt-robot-2")
    await sim.state.drain()
    assert sorted(r.body["spoken"] for r in receiver.of("message", "wt-robot-1")) == sorted(expected)
    assert len(receiver.of("result", "wt-robot-2")) == 2  # the sends themselves happened in every case
