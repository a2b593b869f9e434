"""GET /api/robots/{id}/health and the health fields of GET /api/robots, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.clock import FrozenClock
from bot.robots.monitor import check_all
from bot.rules.health import HealthFile
from models.commands import Command, CommandStatus
from models.robots import Robot
from tests.conftest import STAFF_TOKEN

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
Client = TestClient[Any, Any]


async def health(client: Client, robot_id: str) -> dict[str, Any]:
    resp = await client.get(f"/api/robots/{robot_id}/health", headers=STAFF)
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = (await resp.json())["data"]
    return data


async def test_a_robot_never_checked_is_scored_for_the_request(client: Client) -> None:
    data = await health(client, "wt-robot-1")
    assert (data["health_score"], data["health_status"], data["stored"], data["history"]) == (88, "good", False, [])
    assert data["recommendations"] == ["还不知道机器人是否在线，请检查WorkTool的状态回调或在线查询"]
    assert [c["name"] for c in data["components"]][:2] == ["online", "flaps"]


async def test_the_latest_snapshot_its_figures_and_history_newest_first(client: Client, clock: FrozenClock) -> None:
    await Robot.filter(id="wt-robot-1").update(online=True)
    for n, status in enumerate([CommandStatus.SUCCEEDED] * 3 + [CommandStatus.UNKNOWN]):
        await Command.create(
            idempotency_key=f"k{n}#1",
            reply_key=f"k{n}",
            robot_id="wt-robot-1",
            purpose="reply",
            type=203,
            target="客户群1",
            status=status,
            created_at=clock.now(),
            finished_at=clock.now(),
            time_cost_s=1.5 if status is CommandStatus.SUCCEEDED else None,
        )
    await check_all(HealthFile(), "v1", clock.now(), retention=timedelta(days=30))
    clock.advance(timedelta(minutes=5))
    await check_all(HealthFile(), "v1", clock.now(), retention=timedelta(days=30))
    data = await health(client, "wt-robot-1")
    assert data["stored"] is True
    assert (data["command_count"], data["error_count"], data["success_rate"]) == (4, 1, 75.0)
    assert data["average_response_time"] == 1500
    assert data["health_score"] == 73  # one in four without a result: 0.25 → 44% of 60 points lost
    assert data["recommendations"] == ["近1小时1条指令无结果回调，请检查手机端WorkTool是否在前台运行"]
    stamps = [datetime.fromisoformat(h["checked_at"]) for h in data["history"]]
    assert stamps == [clock.now(), clock.now() - timedelta(minutes=5)]
    resp = await client.get("/api/robots", headers=STAFF)
    robots = {r["id"]: r for r in (await resp.json())["data"]}
    assert (robots["wt-robot-1"]["health_score"], robots["wt-robot-1"]["health_status"]) == (73, "warning")
    assert (robots["wt-robot-2"]["health_score"], robots["wt-robot-2"]["health_status"]) == (88, "good")


async def test_an_unknown_robot_is_404(client: Client) -> None:
    resp = await client.get("/api/robots/nobody/health", headers=STAFF)
    assert resp.status == 404
    assert (await client.get("/api/robots/wt-robot-1/health")).status == 401
