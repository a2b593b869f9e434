"""The README's run command: `hub run` with embedded defaults starts Redis, migrates, and runs the server,
the worker and — with no WorkTool API configured — the simulator as the cloud, playing the demo scenario."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.embedded_redis import free_port
from tests.conftest import ADMIN_TOKEN, CALLBACK_TOKEN, REPO

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=ADMIN) as resp:
        return resp.status, await resp.json()


async def poll(what: str, check: Any, timeout_s: float = 40) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = await check()
        except aiohttp.ClientError:
            value = None
        if value:
            return value
        await asyncio.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


async def test_hub_run_brings_up_the_whole_loop_on_embedded_defaults(tmp_path: Path) -> None:
    port, sim_port, redis_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("HUB__")},
        "HUB__SERVER__PORT": str(port),
        "HUB__DATA_DIR": str(tmp_path),
        "HUB__DATABASE__URL": f"sqlite://{tmp_path}/hub.sqlite3",
        "HUB__REDIS__URL": f"redis://127.0.0.1:{redis_port}/0",
        "HUB__REDIS__DATA_DIR": str(tmp_path / "redis"),
        "HUB__WORKTOOL__SIMULATOR__PORT": str(sim_port),
        "HUB__WORKTOOL__SIMULATOR__TIME_SCALE": "20",
        "HUB__WORKTOOL__CALLBACK_TOKEN": CALLBACK_TOKEN,
        "HUB__API__TOKENS": json.dumps([{"token": ADMIN_TOKEN, "role": "admin", "name": "it"}]),
    }
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        hub = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
            [sys.executable, "-m", "bot.cli", "run"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # The demo scenario's two groups and private chat arrive through the simulator.
        async def conversations() -> list[Any] | None:
            status, body = await get(f"{base}/api/conversations")
            items = body["data"]["items"] if status == 200 else []
            return items if len(items) >= 3 else None

        found = await poll("the demo conversations", conversations)
        assert {c["name"] for c in found} >= {"号主A的直播答疑群", "售后群2", "号主D"}
        # The robots' own state is served, and the simulator answers as the WorkTool API.
        status, robots = await get(f"{base}/api/robots")
        assert status == 200
        assert {r["id"] for r in robots["data"]} == {"wt-robot-1", "wt-robot-2"}
        # The README's walk-through: a reply goes out through the simulator and its result comes back.
        async with aiohttp.ClientSession() as session:
            body = {"conversation": "客户群1", "text": "您好，马上为您处理"}
            async with session.post(f"{base}/api/messages/send", json=body, headers=ADMIN) as resp:
                assert resp.status == 202, await resp.text()
                command_id = (await resp.json())["data"]["command_ids"][0]

        async def succeeded() -> bool:
            _, body = await get(f"{base}/api/commands/{command_id}/status")
            return bool(body["data"]["status"] == "succeeded")

        await poll("the reply's result", succeeded)
        status, stats = await get(f"http://127.0.0.1:{sim_port}/_sim/stats")
        assert (status, stats["data"]["callbacksFailed"]) == (200, 0)
        # /metrics sums what each process counted: the server's callbacks and the worker's processed messages.
        async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics", headers=ADMIN) as resp:
            metrics = await resp.text()
        assert resp.status == 200, metrics
        assert 'hub_callbacks_total{kind="message",outcome="2xx"}' in metrics
        assert 'hub_messages_processed_total{outcome="processed"}' in metrics
        assert 'hub_commands_total{robot="wt-robot-1",status="succeeded"}' in metrics
    finally:
        hub.send_signal(signal.SIGTERM)
        code = hub.wait(timeout=40)
    text = log.read_text(errors="replace")
    assert code == 0, text[-4000:]
    assert "the simulator plays the cloud" in text
    assert "embedded redis stopped" in text
    assert "probes: /healthz for liveness" in text
    assert (tmp_path / "metrics").is_dir()  # <data_dir>/metrics: the processes' metric files
