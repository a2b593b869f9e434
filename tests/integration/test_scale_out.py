"""Scale-out (issue 13): two `hub serve` and two `hub worker` processes on one PostgreSQL and one Redis, the
WorkTool simulator as the cloud.

Callbacks are spread over both servers, each message reported by both robots through different servers (and
some re-delivered through the other one), all at once. Afterwards: every message stored once and processed
once, each conversation's messages processed in arrival order, every send reached the cloud exactly once, and
an alert's level 2 came on time (levels a few seconds apart in a copy of the rules).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.db import open_db
from bot.embedded_redis import free_port
from models.alerts import Alert, AlertEvent
from models.commands import Command
from models.messages import InboundMessage, MessageSighting
from tests.conftest import CALLBACK_TOKEN, _counter
from tests.integration.hub import server, spawn, spawn_sim, stop
from tests.integration.test_alerts_loop import COMPLAINT, STEP_S, fast_rules
from tests.integration.test_commands_loop import call, loop_env
from tests.services import PostgresCluster
from tests.waiting import until

pytestmark = pytest.mark.slow
GROUPS = [f"客户群{n}" for n in range(1, 5)]
PER_GROUP = 20
SCENARIO = """\
echo: false
robots:
  - {id: wt-robot-1, name: 小助手, result: {mode: on_time, delay_s: 0.2}}
  - {id: wt-robot-2, name: 售后助手, result: {mode: on_time, delay_s: 0.2}}
groups:
"""
LATE_TOLERANCE_S = 2.0  # issue 13: step lateness p99 < 2 s


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> str:
    name = f"hub_scale_{next(_counter)}"
    pg_cluster.psql(f"CREATE DATABASE {name} TEMPLATE hub_template")
    return pg_cluster.url(name)


def callbacks() -> list[tuple[int, str, dict[str, Any]]]:
    """(server index, robot, body) in arrival order: each message from robot 1 through one server and from
    robot 2 through the other; every 7th re-delivered by robot 1 through the other server; in each group
    one @-question the FAQ answers, and one complaint in the first group."""
    out: list[tuple[int, str, dict[str, Any]]] = []
    late: list[tuple[int, str, dict[str, Any]]] = []
    for n, (i, group) in enumerate(itertools.product(range(PER_GROUP), GROUPS)):
        text = f"第{i}条消息，请问订单{n}什么时候发货"
        at = i == 5
        if at:
            text = "二维码过期了怎么办"
        elif i == 9 and group == GROUPS[0]:
            text = COMPLAINT
        body = {
            "spoken": text,
            "rawSpoken": f"@小助手 {text}" if at else text,
            "receivedName": f"号主{n % 7}",
            "groupName": group,
            "roomType": 1,
            "atMe": at,
            "textType": 1,
        }
        side = n % 2
        out.append((side, "wt-robot-1", {**body, "messageId": f"m-{n}"}))
        # Robot 2 was not @-mentioned: its `spoken` keeps the @ (as WorkTool reports it).
        copy = (1 - side, "wt-robot-2", {**body, "spoken": body["rawSpoken"], "atMe": False, "messageId": f"c-{n}"})
        # A stored message keeps its first reporter's atMe, so an @-question first reported by robot 2 gets no
        # FAQ answer (found by this test; reported with issue 13): its copy comes last.
        (late if at else out).append(copy)
        if n % 7 == 3:
            out.append((1 - side, "wt-robot-1", {**body, "messageId": f"m-{n}"}))
    return out + late


async def post_all(bases: list[str]) -> Counter[int]:
    statuses: Counter[int] = Counter()
    async with aiohttp.ClientSession() as session:

        async def post(side: int, robot: str, body: dict[str, Any]) -> None:
            url = f"{bases[side]}/worktool/{robot}/message?token={CALLBACK_TOKEN}"
            async with session.post(url, json=body) as resp:
                statuses[resp.status] += 1

        items = callbacks()
        for wave in range(0, len(items), 24):  # 24 at a time: both servers ingest at once
            await asyncio.gather(*(post(*item) for item in items[wave : wave + 24]))
    return statuses


async def started(log: Path) -> bool:
    text = await asyncio.to_thread(log.read_text, encoding="utf-8", errors="replace")
    return "worker started" in text


async def all_processed(db_url: str, count: int) -> bool:
    async with open_db(db_url):
        total = await InboundMessage.all().count()
        pending = await InboundMessage.filter(state="pending").count()
    return total >= count and pending == 0


async def level_two(db_url: str) -> bool:
    async with open_db(db_url):
        return await Alert.filter(kind="complaint_unhandled", level__gte=2).exists()


async def sends_settled(db_url: str) -> bool:
    async with open_db(db_url):
        return not await Command.filter(status__in=["queued", "sent"]).exists()


def assert_stored_once_in_order(rows: list[dict[str, Any]], sightings: list[tuple[int, str]]) -> None:
    # Stored once: one row per message, whichever server or robot reported it first; the other robot's report
    # (through the other server) is its one sighting.
    assert len(rows) == PER_GROUP * len(GROUPS)
    assert sorted(r["external_id"].split("-")[1] for r in rows) == sorted(str(n) for n in range(len(rows)))
    assert Counter(message_id for message_id, _ in sightings) == dict.fromkeys((r["id"] for r in rows), 1)
    reporters = {r["id"]: {r["robot_id"]} for r in rows}
    for message_id, robot in sightings:
        reporters[message_id].add(robot)
    assert all(robots == {"wt-robot-1", "wt-robot-2"} for robots in reporters.values())
    # Processed once, each conversation in arrival order.
    # A message is claimed `pending -> processed` with attempts + 1 (a failure also counts): 1 = once, first time.
    assert {(r["state"], r["attempts"]) for r in rows} == {("processed", 1)}
    by_conversation: defaultdict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_conversation[r["conversation_id"]].append(r["processed_at"])
    assert len(by_conversation) == len(GROUPS)
    for times in by_conversation.values():
        assert times == sorted(times), "a conversation's messages were processed out of order"


async def test_two_servers_and_two_workers_on_postgresql_keep_order_and_exactly_once(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    sim_port, ports = free_port(), [free_port(), free_port()]
    env = loop_env(pg_url, redis_url, tmp_path, ports[0], sim_port, HUB__RULES_DIR=str(fast_rules(tmp_path)))
    scenario = tmp_path / "scale.yaml"
    groups = "".join(f"  - {{name: {g}, robots: [wt-robot-1, wt-robot-2]}}\n" for g in GROUPS)
    scenario.write_text(SCENARIO + groups, encoding="utf-8")
    sim = f"http://127.0.0.1:{sim_port}"
    with (
        server(env, tmp_path / "server0.log") as base0,
        server({**env, "HUB__SERVER__PORT": str(ports[1])}, tmp_path / "server1.log") as base1,
    ):
        simulator = spawn_sim(sim_port, ports[0], env, tmp_path / "sim.log", "--scenario", str(scenario))
        workers = [spawn("worker", env, tmp_path / f"worker{n}.log") for n in range(2)]
        try:
            for n in range(2):  # both take jobs from the start, so both share the work
                log = tmp_path / f"worker{n}.log"
                await until(f"worker{n} started", partial(started, log), timeout_s=60)
            statuses = await post_all([base0, base1])
            messages = PER_GROUP * len(GROUPS)
            await until("every message processed", lambda: all_processed(pg_url, messages), timeout_s=60)
            await until("the complaint's alert at level 2", lambda: level_two(pg_url), timeout_s=30)
            await until("every send finished", lambda: sends_settled(pg_url), timeout_s=30)
            sim_commands: list[dict[str, Any]] = (await call("GET", f"{sim}/_sim/commands"))["data"]
        finally:
            codes = [stop(w, log=tmp_path / f"worker{n}.log") for n, w in enumerate(workers)]
            codes.append(stop(simulator, log=tmp_path / "sim.log"))
    assert codes == [0, 0, 0]
    for n in range(2):  # both workers processed messages
        assert "process_conversations(" in (tmp_path / f"worker{n}.log").read_text(encoding="utf-8"), n
    assert statuses == {200: len(callbacks())}

    async with open_db(pg_url):
        rows = (
            await InboundMessage.all()
            .order_by("id")
            .values("id", "conversation_id", "robot_id", "external_id", "state", "attempts", "processed_at", "text")
        )
        sightings = await MessageSighting.all().values_list("message_id", "robot_id")
        commands = await Command.all().values("id", "reply_key", "part", "worktool_message_id", "batch_index")
        alert = await Alert.get(kind="complaint_unhandled")
        escalations = await AlertEvent.filter(alert_id=alert.id, action="escalated").order_by("id")

    assert_stored_once_in_order(rows, sightings)
    # Sent once: each request the cloud received is one hub command, none twice; one command per reply.
    received = Counter((c["messageId"], c["index"]) for c in sim_commands)
    assert set(received.values()) == {1}
    hub = {(c["worktool_message_id"], c["batch_index"]) for c in commands}
    assert set(received) == hub
    assert len({(c["reply_key"], c["part"]) for c in commands}) == len(commands)
    replies = [c for c in commands if c["reply_key"].startswith("reply:")]
    texts = {r["id"]: r["text"] for r in rows}
    answered = sorted(texts[int(c["reply_key"].removeprefix("reply:"))] for c in replies)
    assert answered == sorted([COMPLAINT, *["二维码过期了怎么办"] * len(GROUPS)])  # the FAQs, the holding reply
    # Level 2 came on time, once (level 3 may follow while the sends finish).
    assert [e.level for e in escalations] == list(range(2, len(escalations) + 2))
    late_s = (escalations[0].at - alert.opened_at).total_seconds() - STEP_S
    assert 0 <= late_s < LATE_TOLERANCE_S, late_s
