"""Online/offline callbacks: to bound type 5/6 URLs or the hub layout with `?kind=`, in each body shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.simulator.conftest import TOKEN, Receiver, SimFactory

ONE_ROBOT: dict[str, Any] = {"robots": [{"id": "wt-robot-1", "name": "小助手"}], "echo": False}


async def toggle(sim: Any) -> None:
    for online in (False, True):
        assert (await sim.call("POST", "/_sim/robots/wt-robot-1", {"online": online}))["code"] == 200
    await sim.call("POST", "/_sim/robots/wt-robot-1", {"online": True})  # no change: no callback


@pytest.mark.parametrize(
    ("shape", "offline_body", "online_body"),
    [
        ("json", {"type": 6, "robotId": "wt-robot-1", "status": "offline"}, {"type": 5, "status": "online"}),
        (
            "webhook",
            {"msgtype": "text", "text": {"content": "机器人小助手(wt-robot-1)已下线"}},
            {"msgtype": "text", "text": {"content": "机器人小助手(wt-robot-1)已上线"}},
        ),
        ("empty", {}, {}),
    ],
)
async def test_status_changes_go_to_the_hub_layout_with_their_kind(
    make_sim: SimFactory,
    receiver: Receiver,
    shape: str,
    offline_body: dict[str, Any],
    online_body: dict[str, Any],
) -> None:
    sim = await make_sim({**ONE_ROBOT, "cloud": {"status_shape": shape}})
    await toggle(sim)
    offline, online = receiver.of("status", "wt-robot-1")
    assert (offline.query, online.query) == ({"kind": "offline", "token": TOKEN}, {"kind": "online", "token": TOKEN})
    assert offline.body.items() >= offline_body.items()
    assert online.body.items() >= online_body.items()
    assert offline.content_type == "application/json"


async def test_status_changes_go_to_the_urls_bound_for_5_and_6(make_sim: SimFactory, receiver: Receiver) -> None:
    sim = await make_sim(ONE_ROBOT)
    for kind, name in ((5, "ok-up"), (6, "ok-down")):
        body = {"type": kind, "callBackUrl": f"{receiver.url}/hook/{name}?kind={name}"}
        assert (await sim.call("POST", "/robot/robotInfo/callBack/bind", body, robotId="wt-robot-1"))["code"] == 200
    patched = await sim.call("POST", "/_sim/cloud", {"status_shape": "webhook"})
    assert patched["data"]["status_shape"] == "webhook"
    await toggle(sim)
    assert [(r.robot_id, r.body["text"]["content"][-3:]) for r in receiver.of("hook")] == [
        ("ok-down", "已下线"),
        ("ok-up", "已上线"),
    ]
    assert receiver.of("status") == []


async def test_cloud_behaviour_is_validated(make_sim: SimFactory) -> None:
    sim = await make_sim(ONE_ROBOT)
    bad = await sim.call("POST", "/_sim/cloud", {"status_shape": "xml"})
    assert bad["_status"] == 400
    assert "status_shape" in bad["message"]
    assert (await sim.call("GET", "/_sim/cloud"))["data"]["status_shape"] == "json"
