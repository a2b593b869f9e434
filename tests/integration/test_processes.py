"""The real processes over real HTTP: server, worker, Redis and the database, killed and restarted."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.db import open_db
from bot.embedded_redis import free_port, start_redis
from models.messages import InboundMessage, ProcessingState
from tests.conftest import CALLBACK_TOKEN
from tests.integration.hub import hub_env, server, spawn, stop

pytestmark = pytest.mark.slow


async def post_all(base: str, bodies: list[dict[str, Any]], robot: str = "wt-robot-1") -> list[dict[str, Any]]:
    url = f"{base}/worktool/{robot}/message?token={CALLBACK_TOKEN}"
    async with aiohttp.ClientSession() as session:
        sem = asyncio.Semaphore(20)

        async def one(body: dict[str, Any]) -> dict[str, Any]:
            async with sem, session.post(url, json=body) as resp:
                assert resp.status == 200, await resp.text()
                result: dict[str, Any] = await resp.json()
                return result

        return await asyncio.gather(*(one(b) for b in bodies))


def bodies(count: int, groups: int = 3) -> list[dict[str, Any]]:
    return [
        {"spoken": f"消息 {i}", "receivedName": f"号主{i % 7}", "groupName": f"群{i % groups}", "roomType": 1}
        for i in range(count)
    ]


async def counts(db_url: str) -> tuple[int, int, int]:
    async with open_db(db_url):
        total = await InboundMessage.all().count()
        processed = await InboundMessage.filter(state=ProcessingState.PROCESSED).count()
        once = await InboundMessage.filter(state=ProcessingState.PROCESSED, attempts=1).count()
    return total, processed, once


async def wait_processed(db_url: str, total: int, timeout_s: float = 40) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _, processed, _ = await counts(db_url)
        if processed >= total:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"only {processed} of {total} processed")


async def test_killed_worker_loses_and_repeats_nothing(db_url: str, redis_url: str, tmp_path: Path) -> None:
    # batch_size 1: one transaction per message, so a kill lands mid-run.
    env = hub_env(
        db_url, redis_url, tmp_path, free_port(), HUB__PROCESSING__BATCH_SIZE="1", HUB__PROCESSING__LOCK_TTL_S="1"
    )
    log = tmp_path / "hub.log"
    with server(env, log) as base:
        results = await post_all(base, bodies(900))
        assert len({r["messageId"] for r in results}) == 900
        worker = spawn("worker", env, log)
        deadline = time.monotonic() + 30
        while (await counts(db_url))[1] < 20 and time.monotonic() < deadline:  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        total, processed_at_kill, _ = await counts(db_url)
        assert 0 < processed_at_kill < total, "the kill should land mid-run"
        worker = spawn("worker", env, log)
        try:
            await wait_processed(db_url, total)
        finally:
            assert stop(worker, log=log) == 0
    total, processed, once = await counts(db_url)
    assert (total, processed, once) == (900, 900, 900)  # none lost, none processed twice
    async with open_db(db_url):
        # Order: within a conversation, processing times never go backwards in arrival order.
        rows = await InboundMessage.all().order_by("id").values_list("conversation_id", "processed_at")
        last: dict[int, Any] = {}
        for conv, at in rows:
            assert conv not in last or at >= last[conv]
            last[conv] = at


async def test_ingest_works_while_redis_is_down(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    redis = start_redis(port)
    env = hub_env(db_url, redis.url, tmp_path, free_port(), HUB__INGEST__SWEEP_GRACE_S="0")
    log = tmp_path / "hub.log"
    try:
        with server(env, log) as base:
            redis.stop()
            results = await post_all(base, bodies(50))
            assert all(r["code"] == 0 for r in results)
            async with aiohttp.ClientSession() as session, session.get(f"{base}/healthz") as resp:
                health = await resp.json()
            assert (resp.status, health["data"]["redis"], health["data"]["pending_messages"]) == (200, "down", 50)
            redis = start_redis(port)  # Redis comes back (empty: the queue was lost with it)
            worker = spawn("worker", env, log)
            try:
                await wait_processed(db_url, 50)
            finally:
                assert stop(worker, log=log) == 0
    finally:
        redis.stop()
    assert await counts(db_url) == (50, 50, 50)
