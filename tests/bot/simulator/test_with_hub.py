"""The simulator against the real hub app: every callback it posts is accepted and stored."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.simulator import SimState, create_sim_app, load_scenario
from models.callbacks import ResultCallback
from models.messages import InboundMessage
from tests.conftest import CALLBACK_TOKEN, build_settings

DEMO = Path(__file__).resolve().parents[3] / "scripts" / "scenarios" / "demo.yaml"


async def test_demo_timeline_and_a_command_result_reach_the_hub(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Any]],
    redis_url: str,
    sqlite_template: Path,
    tmp_path: Path,
) -> None:
    database = tmp_path / "hub.sqlite3"
    shutil.copyfile(sqlite_template, database)
    hub = await aiohttp_server(create_app(build_settings(f"sqlite://{database}", redis_url, tmp_path)))
    state = SimState(
        load_scenario(DEMO), hub_url=str(hub.make_url("")).rstrip("/"), token=CALLBACK_TOKEN, time_scale=1000
    )
    sim = await aiohttp_client(create_sim_app(state, play_on_start=True))
    await state.drain()
    body = {"socketType": 2, "list": [{"type": 203, "titleList": ["客户群1"], "receivedContent": "收到，马上处理"}]}
    sent = await (await sim.post("/wework/sendRawMessage?robotId=wt-robot-1", json=body)).json()
    await state.drain()

    assert [c.status for c in state.callbacks if c.status != 200] == []
    kinds = [c.kind for c in state.callbacks]
    assert (kinds.count("message"), kinds.count("result")) == (22, 1)  # 21 from the timeline + the echo
    assert await ResultCallback.filter(message_id=sent["data"]).count() == 1
    # duplicates and the second robot's copies are the same messages: 10 in the timeline, 1 echo
    assert await InboundMessage.all().count() == 11
