"""`hub worktool bind|check` against the simulator, with the real hub app answering the binding tests."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import run_worktool
from bot.settings import ConfigError, Settings
from bot.simulator import Scenario, ScriptedMessage, SimState, create_sim_app
from bot.simulator.delivery import play, set_online
from bot.simulator.state import Binding
from models.messages import InboundMessage
from models.robots import Robot, RobotStatusEvent
from tests.conftest import CALLBACK_TOKEN, build_settings

# Robots that were never bound: the message callback would only bring @-messages and private chats.
SCENARIO = Scenario.model_validate(
    {
        "robots": [
            {"id": "wt-robot-1", "name": "小助手", "reply_all": 0},
            {"id": "wt-robot-2", "name": "售后助手", "reply_all": 0},
        ],
        "groups": [{"name": "客户群1", "robots": ["wt-robot-1"], "members": [{"name": "号主A"}]}],
    }
)


def args(action: str, robot: str | None = None, public_url: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(action=action, robot=robot, public_url=public_url)


@pytest.fixture
async def sim(aiohttp_server: Any) -> tuple[SimState, TestServer]:
    state = SimState(SCENARIO, time_scale=100)
    return state, await aiohttp_server(create_sim_app(state, play_on_start=False))


def with_api(settings: Settings, server: TestServer) -> Settings:
    worktool = settings.worktool.model_copy(update={"api_base": str(server.make_url(""))})
    return settings.model_copy(update={"worktool": worktool})


async def test_bind_makes_exactly_the_real_calls_and_check_shows_them(
    client: TestClient[Any, Any],
    settings: Settings,
    sim: tuple[SimState, TestServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, server = sim
    hub = str(client.make_url("")).rstrip("/")
    group_message = ScriptedMessage.model_validate({"group": "客户群1", "from": "号主A", "text": "不@机器人的群消息"})
    assert await play(state, [group_message]) == 0  # replyAll 0: the cloud does not call it back
    assert await run_worktool(with_api(settings, server), args("bind", public_url=hub)) == 0
    calls = [(r.method, r.path, r.robot_id) for r in state.requests]
    assert calls == [
        (method, path, robot_id)
        for robot_id in ("wt-robot-1", "wt-robot-2")
        for method, path in [("POST", "/robot/robotInfo/update")] + [("POST", "/robot/robotInfo/callBack/bind")] * 3
    ]
    assert {r.status for r in state.requests} == {200}
    for robot_id in ("wt-robot-1", "wt-robot-2"):
        robot = state.robots[robot_id]
        bound = {kind: b.url for kind, b in robot.bindings.items()}
        assert bound == {
            11: f"{hub}/worktool/{robot_id}/message?token={CALLBACK_TOKEN}",  # through robotInfo/update
            1: f"{hub}/worktool/{robot_id}/result?token={CALLBACK_TOKEN}",
            5: f"{hub}/worktool/{robot_id}/status?kind=online&token={CALLBACK_TOKEN}",
            6: f"{hub}/worktool/{robot_id}/status?kind=offline&token={CALLBACK_TOKEN}",
        }
        assert (robot.open_callback, robot.reply_all) == (1, 1)  # was 0 in the scenario
    # the hub answered both binding tests (message and result callbacks)
    tests = [c for c in state.callbacks if c.kind == "binding_test"]
    assert [(c.url.rsplit("/", 1)[-1], c.status) for c in tests] == [("message", 200), ("result", 200)] * 2
    out = capsys.readouterr().out
    assert "wt-robot-1: robotInfo/update openCallback=1 replyAll=1 callbackUrl=" in out
    assert "wt-robot-1: callBack/bind type 6 -> " in out
    assert "status?kind=offline&token=<callback token>" in out
    assert CALLBACK_TOKEN not in out  # the secret is never printed
    # now the same kind of message reaches the hub, through the URL robotInfo/update bound
    assert await play(state, [group_message]) == 1
    assert [m.text for m in await InboundMessage.filter(robot_id="wt-robot-1")] == ["不@机器人的群消息"]

    assert await run_worktool(with_api(settings, server), args("check", robot="wt-robot-2")) == 0
    out = capsys.readouterr().out
    assert "wt-robot-2 (售后助手): online=True openCallback=1 replyAll=1" in out
    assert f"type 11 (消息回调): {hub}/worktool/wt-robot-2/message?token=<callback token>" in out
    assert f"type 5 (机器人上线回调): {hub}/worktool/wt-robot-2/status?kind=online&token=<callback token>" in out
    assert "WARNING" not in out
    assert CALLBACK_TOKEN not in out

    # the bound status URLs tell the hub which callback it got, even when the body says nothing
    robot = state.robots["wt-robot-1"]
    state.cloud = state.cloud.model_copy(update={"status_shape": "webhook"})
    await set_online(state, robot, False)
    assert (await Robot.get(id="wt-robot-1")).online is False
    state.cloud = state.cloud.model_copy(update={"status_shape": "empty"})
    await set_online(state, robot, True)
    assert (await Robot.get(id="wt-robot-1")).online is True
    events = await RobotStatusEvent.filter(robot_id="wt-robot-1").order_by("id")
    assert [(e.online, e.payload) for e in events] == [
        (False, {"msgtype": "text", "text": {"content": "机器人小助手(wt-robot-1)已下线"}}),
        (True, {}),
    ]


@pytest.mark.parametrize(
    ("reply_all", "open_callback", "meaning"),
    [
        (0, 1, "replyAll=0: only @-messages and private chats reach the hub"),
        (-1, 1, "replyAll=-1: read only: no messages at all reach the hub"),
        (1, 0, "openCallback=0: the message callback is off, no messages at all reach the hub"),
    ],
)
async def test_check_warns_when_not_every_message_reaches_the_hub(
    redis_url: str,
    tmp_path: Path,
    sim: tuple[SimState, TestServer],
    capsys: pytest.CaptureFixture[str],
    reply_all: int,
    open_callback: int,
    meaning: str,
) -> None:
    state, server = sim
    settings = build_settings("sqlite://:memory:", redis_url, tmp_path)  # no database is used
    for robot in state.robots.values():
        robot.bindings = bound_as_bind_does(robot.id)
    robot = state.robots["wt-robot-1"]
    robot.reply_all, robot.open_callback = reply_all, open_callback
    state.robots["wt-robot-2"].reply_all = 1
    assert await run_worktool(with_api(settings, server), args("check")) == 1
    out = capsys.readouterr().out
    assert f"wt-robot-1 (小助手): online=True openCallback={open_callback} replyAll={reply_all}" in out
    assert "wt-robot-2 (售后助手): online=True openCallback=1 replyAll=1" in out
    [warning] = [line for line in out.splitlines() if "WARNING" in line]
    assert warning.startswith(f"  WARNING: {meaning}")
    assert warning.endswith("; `hub worktool bind` sets openCallback=1 replyAll=1")
    assert out.index("wt-robot-1 (") < out.index(warning) < out.index("wt-robot-2 (")


def bound_as_bind_does(robot_id: str, *, old_way: bool = False) -> dict[int, Binding]:
    base = f"https://hub.example/worktool/{robot_id}"
    urls = {
        11: f"{base}/message?token=t",
        1: f"{base}/result?token=t",
        5: f"{base}/status?token=t" if old_way else f"{base}/status?kind=online&token=t",
        6: f"{base}/status?token=t" if old_way else f"{base}/status?kind=offline&token=t",
    }
    return {kind: Binding(i, kind, url) for i, (kind, url) in enumerate(urls.items()) if not (old_way and kind == 11)}


async def test_check_warns_about_robots_bound_the_old_way(
    redis_url: str, tmp_path: Path, sim: tuple[SimState, TestServer], capsys: pytest.CaptureFixture[str]
) -> None:
    state, server = sim
    robot = state.robots["wt-robot-1"]
    robot.reply_all, robot.bindings = 1, bound_as_bind_does("wt-robot-1", old_way=True)
    settings = build_settings("sqlite://:memory:", redis_url, tmp_path)
    assert await run_worktool(with_api(settings, server), args("check", robot="wt-robot-1")) == 1
    warnings = [line for line in capsys.readouterr().out.splitlines() if "WARNING" in line]
    tail = "; run `hub worktool bind`"
    assert warnings == [
        f"  WARNING: no message callback is bound (type 11): no messages reach the hub{tail}",
        f"  WARNING: type 5 is bound without ?kind=online: the hub learns the robot went online only if the body says so{tail}",
        f"  WARNING: type 6 is bound without ?kind=offline: the hub learns the robot went offline only if the body says so{tail}",
    ]


async def test_bind_fails_loudly_when_the_hub_is_not_reachable(
    settings: Settings, sim: tuple[SimState, TestServer], capsys: pytest.CaptureFixture[str]
) -> None:
    _, server = sim
    code = await run_worktool(
        with_api(settings, server), args("bind", robot="wt-robot-1", public_url="http://127.0.0.1:9")
    )
    assert code == 1
    assert "wt-robot-1: FAILED" in capsys.readouterr().err


async def test_bind_needs_a_public_url_and_an_api(settings: Settings, sim: tuple[SimState, TestServer]) -> None:
    with pytest.raises(ConfigError, match="public_url"):
        await run_worktool(with_api(settings, sim[1]), args("bind"))
    with pytest.raises(ConfigError, match="api_base"):
        await run_worktool(settings, args("check"))
    with pytest.raises(ConfigError, match="no robot 'nope'"):
        await run_worktool(settings, args("check", robot="nope"))
