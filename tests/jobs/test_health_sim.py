"""Robot health end to end through the WorkTool simulator (issue 15, "Done when"), on both databases and an
injected clock: the real dispatcher sends to the in-process simulator, whose result callbacks reach the real
hub app; the 60-second check polls the simulator's rawMsg/list; the health job scores what that left. A robot
whose results stop coming back drifts to critical, opens robot_unhealthy once, loses traffic to the healthy
robot in its group, and recovers (alert resolved) when the simulator answers again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.clock import FrozenClock
from bot.commands.dispatch import CommandDeps, dispatch_robot
from bot.commands.outcomes import Outcomes
from bot.commands.results import check_results
from bot.commands.service import OutgoingText
from bot.simulator import Scenario, SimState, create_sim_app
from bot.worktool.client import WorkToolClient
from bot.worktool.ratelimit import RequestBudget
from jobs.health import check_robot_health
from jobs.processing import WorkerDeps
from models.alerts import Alert, AlertStatus, CancelReason
from models.commands import Command, CommandStatus
from models.conversations import Conversation, ConversationRobot
from models.robots import Robot, RobotHealth
from tests.conftest import CALLBACK_TOKEN
from tests.jobs.deps import worker_deps
from tests.waiting import until

T = TypeVar("T")
ROBOTS = ("wt-robot-1", "wt-robot-2")
SCENARIO = Scenario.model_validate(
    {"robots": [{"id": "wt-robot-1", "name": "小助手"}, {"id": "wt-robot-2", "name": "售后助手"}]}
)
EVERY = timedelta(minutes=5)  # health.every_s in config.yaml
PACED = timedelta(seconds=11)  # past worktool.pacing: min gap 3 s + jitter ≤ 2 s, 12/min per robot, 6/min per group
LOST = 4  # with 3 answered: 4/7 unknown, past the unknown ramp's bad (0.5) → score 40, critical
ANSWERED_AGAIN = 6  # 4/13 unknown → score 65, warning: recovered from critical
_keys = count(1)


@dataclass
class Env:
    deps: WorkerDeps
    commands: CommandDeps
    clock: FrozenClock
    sim: SimState
    sim_url: str
    session: aiohttp.ClientSession
    group: int

    @property
    def ctx(self) -> dict[str, Any]:
        return {"deps": self.deps}


@pytest.fixture
async def env(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Env]:
    async with worker_deps(db_url, redis_url, tmp_path, clock, services=True) as deps:
        await Robot.filter(id__in=ROBOTS).update(online=True, online_changed_at=clock.now())
        group = await Conversation.create(kind="group", key="客户群1", name="客户群1", created_at=clock.now())
        for robot_id in ROBOTS:
            await ConversationRobot.create(conversation_id=group.id, robot_id=robot_id, first_seen_at=clock.now())
        # The hub (result callbacks) and the simulator, both on the same injected clock's business time.
        async with TestServer(create_app(deps.settings, clock=clock)) as hub:
            state = SimState(SCENARIO, hub_url=str(hub.make_url("")), token=CALLBACK_TOKEN, time_scale=100)
            async with TestServer(create_sim_app(state)) as sim, aiohttp.ClientSession() as session:
                sim_url = str(sim.make_url("")).rstrip("/")
                client = WorkToolClient(session, sim_url, RequestBudget(deps.redis, 1000, 60), 5)
                commands = CommandDeps(deps.settings, deps.redis, clock, client, Outcomes(deps.redis))
                yield Env(deps, commands, clock, state, sim_url, session, group.id)
                await state.drain()


async def behave(env: Env, robot_id: str, result: dict[str, Any]) -> None:
    async with env.session.post(f"{env.sim_url}/_sim/robots/{robot_id}", json={"result": result}) as resp:
        assert resp.status == 200, await resp.text()


async def send(env: Env, robot_id: str | None = None) -> Command:
    """Queue a message into the group and dispatch it to the simulator (pacing passed on the clock)."""
    services = env.deps.services
    assert services is not None
    assert services.commands is not None
    out = OutgoingText(
        conversation_id=env.group,
        text=f"您好 {next(_keys)}",
        reply_key=f"s{next(_keys)}",
        purpose="after_sales",
        requested_by="test",
        role="after_sales",
        robot_id=robot_id,
    )
    queued = await services.commands.send_text(out)
    command = await Command.get(id=queued.command_ids[0])
    env.clock.advance(PACED)
    assert await dispatch_robot(env.commands, str(command.robot_id)) == 1
    await command.refresh_from_db()
    assert command.worktool_message_id is not None  # accepted by the simulator (its result may be back already)
    return command


async def answered(env: Env, robot_id: str | None = None) -> Command:
    """Send one and wait for its result callback to come back through the hub."""
    command = await send(env, robot_id)

    async def done() -> Command | None:
        await command.refresh_from_db()
        return command if command.status is not CommandStatus.SENT else None

    await until(f"the result of command {command.id}", done, timeout_s=5, every_s=0.02)
    assert (command.status, command.result_source) == (CommandStatus.SUCCEEDED, "callback")
    return command


async def latest(robot_id: str) -> RobotHealth:
    return await RobotHealth.filter(robot_id=robot_id).order_by("-checked_at", "-id").first()  # type: ignore[return-value]


async def check(env: Env) -> dict[str, tuple[int, str]]:
    env.clock.advance(EVERY)
    assert await check_robot_health(env.ctx) == 2
    return {robot_id: ((h := await latest(robot_id)).score, h.status) for robot_id in ROBOTS}


async def unhealthy() -> list[Alert]:
    return await Alert.filter(kind="robot_unhealthy").order_by("id")


async def test_results_lost_in_the_simulator_make_a_robot_critical_until_it_answers_again(env: Env) -> None:
    for robot_id in ROBOTS:
        for _ in range(3):
            await answered(env, robot_id)
    assert await check(env) == {"wt-robot-1": (100, "excellent"), "wt-robot-2": (100, "excellent")}

    # wt-robot-1 executes commands but its results never come back, nor show in rawMsg/list.
    await behave(env, "wt-robot-1", {"mode": "never", "visible_in_poll": False})
    lost = [await send(env, "wt-robot-1") for _ in range(LOST)]
    assert {c.status for c in lost} == {CommandStatus.SENT}
    await env.sim.drain()  # the simulator has executed them all (bounded wait) and posted nothing
    executed = [c for c in env.sim.commands if c.robot_id == "wt-robot-1" and c.outcome == "lost"]
    assert len(executed) == LOST
    assert len([c for c in env.sim.callbacks if c.kind == "result"]) == 6  # only the first six came back
    env.clock.advance(timedelta(seconds=env.deps.settings.worktool.result_timeout_s + 1))
    assert await check_results(env.commands.client, env.clock.now(), env.commands.outcomes) == LOST
    polled = {r.path for r in env.sim.requests}
    assert "/robot/rawMsg/list" in polled  # asked the simulator before giving up
    for command in lost:
        await command.refresh_from_db()
        assert command.status is CommandStatus.UNKNOWN

    first = await check(env)
    assert first["wt-robot-1"] == (40, "critical")
    assert first["wt-robot-2"] == (100, "excellent")
    assert (
        f"近1小时{LOST}条指令无结果回调，请检查手机端WorkTool是否在前台运行"
        in (await latest("wt-robot-1")).recommendations
    )
    assert await unhealthy() == []  # critical, but not yet for unhealthy_after_minutes (10)
    await check(env)
    assert await unhealthy() == []
    await check(env)  # critical for 10 minutes
    await check(env)
    alerts = await unhealthy()
    assert [(a.subject, a.status) for a in alerts] == [("wt-robot-1", AlertStatus.OPEN)]  # once

    moved = await answered(env)
    assert moved.robot_id == "wt-robot-2"
    assert "avoided wt-robot-1: critical" in str(moved.robot_reason)
    assert env.sim.commands[-1].robot_id == "wt-robot-2"  # the simulator got it from the healthy robot

    # The simulator answers again; sends forced through wt-robot-1 come back.
    await behave(env, "wt-robot-1", {"mode": "on_time"})
    forced = await answered(env, "wt-robot-1")
    assert "critical, but no other robot can send into this conversation" in str(forced.robot_reason)
    for _ in range(ANSWERED_AGAIN - 1):
        await answered(env, "wt-robot-1")
    recovered = await check(env)
    assert recovered["wt-robot-1"][1] == "warning"
    assert recovered["wt-robot-2"] == (100, "excellent")
    alert = (await unhealthy())[0]
    assert (alert.status, alert.cancel_reason) == (AlertStatus.CANCELLED, CancelReason.RESOLVED)
    assert len(await unhealthy()) == 1
    assert "critical" not in str((await send(env)).robot_reason)  # by queue length again
    assert (await Robot.get(id="wt-robot-1")).health_status == "warning"
