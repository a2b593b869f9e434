"""The commands layer's jobs: the sweeper (lost jobs, overdue checks, unmatched results) and robot polling,
against the WorkTool simulator in-process, a real Redis and both databases, on an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.clock import FrozenClock
from bot.commands.dispatch import CommandDeps
from bot.commands.outcomes import Outcomes
from bot.db import open_db
from bot.job_names import DISPATCH_QUEUE, PROCESS_JOB
from bot.queue import arq_redis, enqueue_dispatch
from bot.reference import load_directory, sync_reference_data
from bot.simulator import Scenario, SimState, create_sim_app
from bot.worktool.client import WorkToolClient
from bot.worktool.ratelimit import RequestBudget
from jobs.commands import poll_robots_online, sweep_commands
from jobs.processing import WorkerDeps
from jobs.worker import build_dispatch_worker
from models.callbacks import ResultCallback
from models.commands import Command, CommandStatus
from models.conversations import Conversation
from models.robots import Robot, RobotStatusEvent
from tests.conftest import build_settings

SCENARIO = Scenario.model_validate(
    {"robots": [{"id": "wt-robot-1", "name": "小助手"}, {"id": "wt-robot-2", "name": "售后助手", "online": False}]}
)


@pytest.fixture
async def sim(aiohttp_server: Any) -> tuple[SimState, TestServer]:
    state = SimState(SCENARIO, time_scale=100)
    return state, await aiohttp_server(create_sim_app(state))


@pytest.fixture
async def ctx(
    db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock, sim: tuple[SimState, TestServer]
) -> AsyncIterator[dict[str, Any]]:
    settings = build_settings(db_url, redis_url, tmp_path)
    async with open_db(db_url), aiohttp.ClientSession() as session:
        directory, people = load_directory(settings)
        await sync_reference_data(settings, people)
        redis = arq_redis(redis_url)
        client = WorkToolClient(session, str(sim[1].make_url("")), RequestBudget(redis, 1000, 60), 5)
        commands = CommandDeps(settings, redis, clock, client, Outcomes(redis))
        yield {"deps": WorkerDeps(settings, directory, redis, clock, commands=commands)}
        await redis.aclose()


async def command(clock: FrozenClock, **fields: Any) -> Command:
    conversation = await Conversation.create(kind="group", key="客户群1", name="客户群1", created_at=clock.now())
    values: dict[str, Any] = {
        "idempotency_key": "k#1",
        "reply_key": "k",
        "robot_id": "wt-robot-1",
        "conversation_id": conversation.id,
        "purpose": "reply",
        "type": 203,
        "target": "客户群1",
        "content": "您好",
        "created_at": clock.now(),
        **fields,
    }
    created: Command = await Command.create(**values)
    return created


async def test_the_sweeper_wakes_a_robot_whose_queue_lost_its_job(ctx: dict[str, Any], clock: FrozenClock) -> None:
    await command(clock)  # queued, and Redis never heard of it
    redis = ctx["deps"].redis
    assert await sweep_commands(ctx) == {"robots_woken": 1, "unknown": 0, "results_matched": 0, "outcomes": 0}
    jobs = [job.decode() for job in await redis.zrange(DISPATCH_QUEUE, 0, -1)]
    assert len(jobs) == 1
    assert jobs[0].startswith("dispatch:wt-robot-1:")


async def test_a_send_does_not_wait_behind_the_processing_backlog(ctx: dict[str, Any], clock: FrozenClock) -> None:
    # arq starts a queue's jobs in order, each once a job slot is free: in the one queue a robot's dispatch
    # waited for every processing job enqueued before it. Sends have a queue and a poll loop of their own.
    queued = await command(clock)
    redis = ctx["deps"].redis
    for n in range(120):  # more than arq reads from a queue at once (100); no worker serves them here
        await redis.enqueue_job(PROCESS_JOB, [n], _job_id=f"process:backlog:{n}")
    await enqueue_dispatch(redis, "wt-robot-1")
    sender = build_dispatch_worker(ctx["deps"], burst=True)
    try:
        await asyncio.wait_for(sender.main(), timeout=30)
    finally:
        await sender.close()
    await queued.refresh_from_db()
    assert queued.status is CommandStatus.SENT
    assert await redis.zcount("arq:queue", "-inf", "+inf") >= 120  # the backlog is still there, untouched


async def test_the_sweeper_runs_an_overdue_check_whose_job_was_lost(ctx: dict[str, Any], clock: FrozenClock) -> None:
    sent = await command(
        clock,
        status=CommandStatus.SENT,
        sent_at=clock.now() - timedelta(seconds=70),
        result_due_at=clock.now() - timedelta(seconds=10),
        worktool_message_id="1784417250785046528",
    )
    assert (await sweep_commands(ctx))["unknown"] == 1
    await sent.refresh_from_db()
    assert sent.status is CommandStatus.UNKNOWN
    assert (await Robot.get(id="wt-robot-1")).unknown_results == 1


async def test_the_sweeper_matches_a_result_that_came_before_its_message_id(
    ctx: dict[str, Any], clock: FrozenClock
) -> None:
    row = await ResultCallback.create(
        robot_id="wt-robot-1",
        message_id="1784417250785046999",
        error_code=0,
        received_at=clock.now(),
        payload={"messageId": "1784417250785046999", "errorCode": 0, "type": 203},
    )
    assert (await sweep_commands(ctx))["results_matched"] == 0  # no command has that messageId yet
    sent = await command(clock, status=CommandStatus.SENT, worktool_message_id="1784417250785046999")
    assert (await sweep_commands(ctx))["results_matched"] == 1
    await sent.refresh_from_db()
    await row.refresh_from_db()
    assert (sent.status, row.command_id) == (CommandStatus.SUCCEEDED, sent.id)


async def test_polling_records_online_state_changes_at_the_configured_interval(
    ctx: dict[str, Any], clock: FrozenClock, sim: tuple[SimState, TestServer]
) -> None:
    assert await poll_robots_online(ctx) == 2
    robots = {r.id: r.online for r in await Robot.all()}
    assert robots == {"wt-robot-1": True, "wt-robot-2": False}
    assert await poll_robots_online(ctx) == 0  # polled moments ago
    polls = [r for r in sim[0].requests if r.path == "/robot/robotInfo/online"]
    assert len(polls) == 2
    clock.advance(timedelta(seconds=ctx["deps"].settings.worktool.online_poll_s))
    assert await poll_robots_online(ctx) == 2
    events = await RobotStatusEvent.all().order_by("id").values_list("robot_id", "online", "source")
    assert events == [("wt-robot-1", True, "poll"), ("wt-robot-2", False, "poll")]  # changes only
