"""`hub worktool bind|check` against the simulator, with the real hub app answering the binding tests."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import run_worktool
from bot.settings import ConfigError, Settings
from bot.simulator import Scenario, SimState, create_sim_app
from tests.conftest import CALLBACK_TOKEN

SCENARIO = Scenario.model_validate(
    {"robots": [{"id": "wt-robot-1", "name": "小助手"}, {"id": "wt-robot-2", "name": "售后助手"}]}
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


async def test_bind_points_every_callback_at_us_and_check_shows_them(
    client: TestClient[Any, Any],
    settings: Settings,
    sim: tuple[SimState, TestServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, server = sim
    hub = str(client.make_url("")).rstrip("/")
    assert await run_worktool(with_api(settings, server), args("bind", public_url=hub)) == 0
    for robot_id in ("wt-robot-1", "wt-robot-2"):
        bound = {kind: b.url for kind, b in state.robots[robot_id].bindings.items()}
        assert bound == {
            11: f"{hub}/worktool/{robot_id}/message?token={CALLBACK_TOKEN}",
            1: f"{hub}/worktool/{robot_id}/result?token={CALLBACK_TOKEN}",
            5: f"{hub}/worktool/{robot_id}/status?token={CALLBACK_TOKEN}",
            6: f"{hub}/worktool/{robot_id}/status?token={CALLBACK_TOKEN}",
        }
    assert CALLBACK_TOKEN not in capsys.readouterr().out  # the secret is never printed
    assert await run_worktool(with_api(settings, server), args("check", robot="wt-robot-2")) == 0
    out = capsys.readouterr().out
    assert "wt-robot-2 (售后助手): online=True" in out
    assert "type 11 (" in out
    assert f"{hub}/worktool/wt-robot-2/message" in out
    assert CALLBACK_TOKEN not in out


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
