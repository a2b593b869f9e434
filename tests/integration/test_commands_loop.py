"""The whole command loop over real HTTP between real processes: `hub serve`, `hub worker` and `hub sim`
(the WorkTool simulator speaking the real protocol), with Redis and each database."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.db import open_db
from bot.embedded_redis import free_port
from models.messages import InboundMessage
from tests.conftest import ADMIN_TOKEN, REPO
from tests.integration.hub import hub_env, server, spawn, spawn_sim, stop
from tests.waiting import until

pytestmark = pytest.mark.slow
SCENARIO = str(REPO / "tests" / "fixtures" / "scenarios" / "loop.yaml")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MIN_GAP_S = 0.4


def loop_env(db_url: str, redis_url: str, tmp_path: Path, hub_port: int, sim_port: int, **extra: str) -> dict[str, str]:
    settings = {
        "HUB__WORKTOOL__API_BASE": f"http://127.0.0.1:{sim_port}",
        "HUB__WORKTOOL__RESULT_TIMEOUT_S": "2",
        "HUB__WORKTOOL__ONLINE_POLL_S": "0",
        "HUB__WORKTOOL__PACING__MIN_GAP_S": str(MIN_GAP_S),
        "HUB__WORKTOOL__PACING__JITTER_S": "0.2",
        "HUB__WORKTOOL__PACING__PER_MINUTE": "200",
        "HUB__WORKTOOL__PACING__GROUP_REPLIES_PER_MINUTE": "200",
        **extra,
    }
    return hub_env(db_url, redis_url, tmp_path, hub_port, **settings)


@contextmanager
def hub_with_sim(env: dict[str, str], log: Path, sim_args: tuple[str, ...] = (), workers: int = 1) -> Iterator[str]:
    hub_port = int(env["HUB__SERVER__PORT"])
    sim_port = int(env["HUB__WORKTOOL__API_BASE"].rsplit(":", 1)[1])
    with server(env, log) as base:
        sim = spawn_sim(sim_port, hub_port, env, log, "--scenario", SCENARIO, "--play", *sim_args)
        procs = [spawn("worker", env, log.with_name(f"worker{n}.log")) for n in range(workers)]
        try:
            yield base
        finally:
            # Stop every process before judging any: a failed assertion must not leave one running.
            codes = {f"worker{n}": stop(proc, log=log.with_name(f"worker{n}.log")) for n, proc in enumerate(procs)}
            codes["sim"] = stop(sim, log=log)
            assert codes == dict.fromkeys(codes, 0), f"exit codes {codes}; see the logs in {log.parent}"


async def call(method: str, url: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as session, session.request(method, url, json=body, headers=ADMIN) as resp:
        payload = await resp.json()
        assert resp.status < 300, payload
        return payload


async def send(base: str, text: str, group: str = "客户群1") -> int:
    payload = await call("POST", f"{base}/api/messages/send", {"conversation": group, "text": text})
    command_id: int = payload["data"]["command_ids"][0]
    return command_id


async def command(base: str, command_id: int) -> dict[str, Any]:
    data: dict[str, Any] = (await call("GET", f"{base}/api/commands/{command_id}/status"))["data"]
    return data


async def finished(base: str, command_id: int, status: str, timeout_s: float = 20) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        data = await command(base, command_id)
        return data if data["status"] == status else None

    result: dict[str, Any] = await until(f"command {command_id} to be {status}", check, timeout_s)
    return result


async def sim_sends(sim: str, text: str | None = None) -> list[dict[str, Any]]:
    commands: list[dict[str, Any]] = (await call("GET", f"{sim}/_sim/commands"))["data"]
    if text is None:
        return commands
    return [c for c in commands if c["command"].get("receivedContent") == text]


async def conversations_seen(db_url: str) -> int:
    async with open_db(db_url):
        return await InboundMessage.all().count()


async def test_message_in_reply_out_result_back_dropped_and_late_results(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    sim_port = free_port()
    env = loop_env(db_url, redis_url, tmp_path, free_port(), sim_port)
    sim = f"http://127.0.0.1:{sim_port}"
    with hub_with_sim(env, tmp_path / "hub.log") as base:
        await until("the scenario's messages", lambda: _at_least(db_url, 2))
        # A reply goes out through the robot that sits in the group, and its result comes back.
        first = await send(base, "您好，请稍等")
        done = await finished(base, first, "succeeded")
        assert (done["robot_id"], done["result_source"], done["late"]) == ("wt-robot-1", "callback", False)
        # The other robot in the group reports our robot's message: stored, recognised as our own robot.
        echo = await until("the echo of our reply", lambda: _sender_role(db_url, "您好，请稍等"))
        assert echo == "robot"
        # A dropped result: unknown after the (shortened) timeout, and never sent again.
        await call("POST", f"{sim}/_sim/robots/wt-robot-1", {"result": {"mode": "never", "visible_in_poll": False}})
        dropped = await send(base, "第二条")
        gone = await finished(base, dropped, "unknown")
        assert "no result within the timeout" in gone["error_reason"]
        await asyncio.sleep(1.5)  # time for a wrong re-send to show up
        assert len(await sim_sends(sim, "第二条")) == 1
        # A late result: unknown first, then recorded when it comes.
        await call("POST", f"{sim}/_sim/robots/wt-robot-1", {"result": {"mode": "late", "delay_s": 4}})
        late = await send(base, "第三条")
        await finished(base, late, "unknown")
        recorded = await finished(base, late, "succeeded")
        assert (recorded["late"], recorded["result_source"]) == (True, "callback")
        assert len(await sim_sends(sim, "第三条")) == 1


async def test_pacing_holds_under_a_burst(db_url: str, redis_url: str, tmp_path: Path) -> None:
    sim_port = free_port()
    env = loop_env(db_url, redis_url, tmp_path, free_port(), sim_port)
    sim = f"http://127.0.0.1:{sim_port}"
    with hub_with_sim(env, tmp_path / "hub.log") as base:
        await until("the scenario's messages", lambda: _at_least(db_url, 2))
        ids = await asyncio.gather(*(send(base, f"批量回复{i}", group=f"客户群{i % 2 + 1}") for i in range(6)))
        for command_id in ids:
            await finished(base, command_id, "succeeded")
        requests = (await call("GET", f"{sim}/_sim/requests"))["data"]
    times = sorted(r["monotonic"] for r in requests if r["path"] == "/wework/sendRawMessage")
    assert len(times) == 6
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The robot never sends faster than the minimum gap. Measured where the cloud receives the requests, one
    # late arrival shortens the gap after it (80 ms seen on a loaded box) but not the burst's whole span; an
    # unpaced burst would arrive within milliseconds.
    assert times[-1] - times[0] >= (len(times) - 1) * MIN_GAP_S - 0.05, gaps
    assert min(gaps) >= MIN_GAP_S / 2, gaps


async def test_the_request_budget_holds_across_two_worker_processes(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    sim_port = free_port()
    both_reply = [
        {"id": "wt-robot-1", "name": "小助手", "roles": ["reply"]},
        {"id": "wt-robot-2", "name": "售后助手", "roles": ["reply"]},
    ]
    env = loop_env(
        db_url,
        redis_url,
        tmp_path,
        free_port(),
        sim_port,
        HUB__WORKTOOL__ROBOTS=json.dumps(both_reply, ensure_ascii=False),
        HUB__WORKTOOL__RATE_LIMIT__REQUESTS="4",
        HUB__WORKTOOL__RATE_LIMIT__WINDOW_S="2",
        # No gap: a robot's dispatch job keeps sending for as long as its queue lasts, waiting on the shared
        # budget; with one job at a time per worker, the two robots' jobs run in the two processes.
        HUB__WORKTOOL__PACING__MIN_GAP_S="0",
        HUB__WORKTOOL__PACING__JITTER_S="0",
        HUB__PROCESSING__MAX_JOBS="1",
    )
    sim = f"http://127.0.0.1:{sim_port}"
    log = tmp_path / "hub.log"
    with hub_with_sim(env, log, ("--rate-limit", "4", "--rate-window", "2"), workers=2) as base:
        await until("the scenario's messages", lambda: _at_least(db_url, 2))
        ids = [await send(base, f"限流测试{i}", group=f"客户群{i % 2 + 1}") for i in range(16)]
        for command_id in ids:
            await finished(base, command_id, "succeeded", timeout_s=40)
        stats = (await call("GET", f"{sim}/_sim/stats"))["data"]
        requests = (await call("GET", f"{sim}/_sim/requests"))["data"]
    assert stats["rateLimited"] == 0  # WorkTool never had to drop one of our requests
    sends = sorted(r["monotonic"] for r in requests if r["path"] == "/wework/sendRawMessage")
    assert len(sends) == 16
    assert sends[-1] - sends[0] >= 5.5  # 16 requests at 4 per 2 s: the budget really held them back
    senders = [n for n in range(2) if "commands sent" in log.with_name(f"worker{n}.log").read_text()]
    assert senders == [0, 1], "both worker processes sent, sharing one budget"


async def _at_least(db_url: str, count: int) -> bool:
    return await conversations_seen(db_url) >= count


async def _sender_role(db_url: str, text: str) -> str | None:
    async with open_db(db_url):
        row = await InboundMessage.filter(text=text, state="processed").first()
    return row.sender_role if row else None
