"""`hub run` on SQLite at saturation while its worker works off a backlog: ingest gets the write lock first.

Before the worker's transactions were bounded, one held the lock for a whole batch of a conversation's
backlog (50 messages, 1-2.6 s under this load) and ingest, out of retries, answered whole batches 503
(in about half the runs); WorkTool never re-sends those callbacks.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.callbacks.payloads import MessageCallback
from bot.db import migrate, open_db
from bot.embedded_redis import free_port
from bot.ingest.incoming import normalise
from bot.ingest.writer import IngestWriter, backend_for
from models.messages import InboundMessage, ProcessingState
from tests.conftest import CALLBACK_TOKEN
from tests.integration.hub import hub_env, spawn, stop, wait_healthy

pytestmark = pytest.mark.slow

# processing.batch_size caps a transaction in messages only: at 150, one held the lock for seconds before.
BACKLOG_GROUPS, BACKLOG_PER_GROUP, BATCH_SIZE = 12, 150, 150
CLIENTS, LOAD_S = 32, 5.0


def callbacks(prefix: str, groups: list[str]) -> Iterator[dict[str, Any]]:
    rng, n = random.Random(prefix), 0
    while True:
        n += 1
        group = groups[n % len(groups)]
        text = "".join(rng.choices("你好请问订单什么时候发货退款换货地址修改电话快递已经收到了", k=rng.randint(5, 30)))
        at = n % 4 == 0
        yield {
            "spoken": text,
            "rawSpoken": f"@小助手 {text}" if at else text,
            "receivedName": f"用户{rng.randrange(500)}",
            "groupName": group,
            "roomType": 1,
            "atMe": at,
            "messageId": f"{prefix}-{n}",
        }


async def saturate(base: str, seconds: float) -> tuple[list[int], list[int]]:
    """`CLIENTS` clients posting back to back for `seconds`: every status, and the ids acknowledged as new."""
    url = f"{base}/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}"
    bodies = callbacks("load", [f"客户群{i}" for i in range(300)])
    statuses: list[int] = []
    acked: list[int] = []
    end = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as session:

        async def client() -> None:
            while time.monotonic() < end:
                async with session.post(url, json=next(bodies)) as resp:
                    statuses.append(resp.status)
                    if resp.status == 200 and (answer := await resp.json())["duplicate"] is False:
                        acked.append(int(answer["messageId"]))

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return statuses, acked


async def ingest_backlog(db_url: str) -> None:
    """The worker's backlog, stored before `hub run` starts: long runs of pending messages per conversation."""
    await migrate(db_url)
    async with open_db(db_url):
        writer = IngestWriter(backend=backend_for(db_url, timedelta(seconds=15)), max_batch=500)
        await writer.start()
        bodies = callbacks("backlog", [f"积压{i}群" for i in range(BACKLOG_GROUPS)])
        now = datetime.now(UTC)
        await asyncio.gather(
            *(
                writer.submit(normalise("wt-robot-1", MessageCallback.model_validate(next(bodies)), now))
                for _ in range(BACKLOG_GROUPS * BACKLOG_PER_GROUP)
            )
        )
        await writer.stop()


def long_holds_ms(log: Path) -> list[float]:
    held = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and "held the database lock long" in line:
            held.append(float(json.loads(line)["ms"]))
    return held


async def test_hub_run_at_saturation_answers_no_callback_503(redis_url: str, tmp_path: Path) -> None:
    port, db_url, log = free_port(), f"sqlite://{tmp_path}/hub.sqlite3", tmp_path / "run.log"
    env = hub_env(
        db_url,
        redis_url,
        tmp_path,
        port,
        HUB__WORKTOOL__SIMULATOR__PORT=str(free_port()),
        HUB__WORKTOOL__SIMULATOR__PLAY="false",
        HUB__LOGGING__FORMAT="json",
        HUB__INGEST__SWEEP_GRACE_S="0",  # the worker's start-up sweep takes on the whole backlog at once
        HUB__PROCESSING__BATCH_SIZE=str(BATCH_SIZE),
    )
    await ingest_backlog(db_url)
    hub = spawn("run", env, log)
    try:
        wait_healthy(port, timeout_s=40)
        statuses, acked = await saturate(f"http://127.0.0.1:{port}", LOAD_S)
    finally:
        code = stop(hub, log=log)
    assert code == 0, f"hub run exited with {code}; see {log}"
    async with open_db(db_url):
        stored = {message.id for message in await InboundMessage.filter(id__in=acked).only("id")}
        processed = await InboundMessage.filter(state=ProcessingState.PROCESSED).count()
    answers = {status: statuses.count(status) for status in set(statuses)}
    assert answers == {200: len(statuses)}, f"{answers}; see {log}"
    assert len(statuses) > 500  # saturated
    assert set(acked) == stored  # every acknowledged callback stored
    assert processed > 0  # the worker was at its backlog meanwhile
    assert max(long_holds_ms(log), default=0.0) < 1000, f"the worker held the lock for seconds; see {log}"
