"""Faults under traffic, with the real processes: Redis restarted, the database unavailable for ~10 s, the
worker killed mid-batch. A steady trickle of message callbacks runs throughout; afterwards every
acknowledged message must be stored once and processed once, and no callback may have got a 500.
Each test prints one `outage-report` line with its counts (run with -s to see them)."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.db import open_db
from bot.embedded_redis import free_port, start_redis
from models.messages import InboundMessage, ProcessingState
from tests.conftest import CALLBACK_TOKEN
from tests.integration.hub import hub_env, server, spawn, stop
from tests.services import PostgresCluster

pytestmark = pytest.mark.slow

RATE_PER_S = 10.0
ACK_LIMIT_S = 2.5  # WorkTool gives up after ~3 s: a 503 must come before that


@dataclass
class Sent:
    text: str
    status: int  # 0: no answer at all (connection refused or timed out)
    latency_s: float


@dataclass
class Traffic:
    """A steady trickle of message callbacks over a few groups, each text unique."""

    base: str
    tag: str
    sent: list[Sent] = field(default_factory=list)

    async def post(self, session: aiohttp.ClientSession, i: int) -> None:
        text = f"{self.tag} 消息 {i}"
        body = {"spoken": text, "receivedName": f"号主{i % 5}", "groupName": f"群{i % 4}", "roomType": 1}
        started = time.monotonic()
        try:
            async with session.post(f"{self.base}/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}", json=body) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.sent.append(Sent(text, status, time.monotonic() - started))

    async def run(self, stop_at: asyncio.Event) -> None:
        """RATE_PER_S callbacks a second until `stop_at`; each is answered in its own task, so a slow
        answer does not slow the trickle."""
        in_flight: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            i = 0
            while not stop_at.is_set():
                task = asyncio.create_task(self.post(session, i))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                i += 1
                await asyncio.sleep(1 / RATE_PER_S)
            await asyncio.gather(*in_flight)

    async def burst(self, count: int) -> None:
        """`count` callbacks, 20 in flight."""
        sem = asyncio.Semaphore(20)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

            async def one(i: int) -> None:
                async with sem:
                    await self.post(session, i)

            await asyncio.gather(*(one(i) for i in range(count)))

    @property
    def acked(self) -> set[str]:
        return {s.text for s in self.sent if s.status == 200}

    def statuses(self) -> dict[int, int]:
        return dict(Counter(s.status for s in self.sent))


@asynccontextmanager
async def trickle(base: str, tag: str) -> AsyncIterator[Traffic]:
    traffic = Traffic(base, tag)
    stop_at = asyncio.Event()
    task = asyncio.create_task(traffic.run(stop_at))
    try:
        yield traffic
    finally:
        stop_at.set()
        await task


async def ledger(db_url: str, tag: str) -> list[tuple[str, str, int]]:
    """(text, state, attempts) of every stored message of this test."""
    async with open_db(db_url):
        rows = await InboundMessage.filter(text__startswith=tag).values_list("text", "state", "attempts")
    return [(str(t), str(s), int(a)) for t, s, a in rows]


async def wait_processed(db_url: str, tag: str, expected: set[str], timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await ledger(db_url, tag)
        done = {t for t, state, _ in rows if state == ProcessingState.PROCESSED}
        if expected <= done:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(expected - done)} of {len(expected)} acknowledged messages not processed")
        await asyncio.sleep(0.3)


async def readyz(base: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/readyz") as resp:
        body: dict[str, Any] = await resp.json()
        return resp.status, body


async def wait_ready(base: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        status, body = await readyz(base)
        if status == 200:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"/readyz still {status}: {body['data']['reasons']}")
        await asyncio.sleep(0.2)


async def check_and_report(
    name: str, db_url: str, traffic: Traffic, faults: list[str], started: float, *, retried_ok: bool = False
) -> dict[str, Any]:
    """Every acknowledged message stored once and processed (once); no 5xx but 503; print the counts."""
    rows = await ledger(db_url, traffic.tag)
    copies = Counter(text for text, _, _ in rows)
    acked = traffic.acked
    processed = {text for text, state, _ in rows if state == ProcessingState.PROCESSED}
    repeated = {text for text, _, attempts in rows if attempts > 1}
    refused = {s.text for s in traffic.sent if s.status != 200}
    report: dict[str, Any] = {
        "test": name,
        "database": urlsplit(db_url).scheme,
        "sent": len(traffic.sent),
        "acknowledged": len(acked),
        "statuses": traffic.statuses(),
        "processed": len(acked & processed),
        "lost": len(acked - set(copies)),
        "unprocessed": len(acked - processed),
        "duplicates": sum(n - 1 for n in copies.values()),
        "processed_after_a_retry": len(repeated),
        "stored_though_refused": len(refused & set(copies)),
        "http_5xx_not_503": sum(1 for s in traffic.sent if s.status >= 500 and s.status != 503),
        "slowest_503_s": round(max((s.latency_s for s in traffic.sent if s.status == 503), default=0.0), 2),
        "slowest_answer_s": round(max((s.latency_s for s in traffic.sent), default=0.0), 2),
        "faults": faults,
        "duration_s": round(time.monotonic() - started, 1),
    }
    print("outage-report", json.dumps(report, ensure_ascii=False))
    assert report["lost"] == 0, report
    assert report["unprocessed"] == 0, report
    assert report["duplicates"] == 0, report
    assert report["http_5xx_not_503"] == 0, report
    assert all(s.status in (200, 503) for s in traffic.sent), report  # no dropped connection either
    assert report["slowest_503_s"] <= ACK_LIMIT_S, report
    if not retried_ok:
        assert report["processed_after_a_retry"] == 0, report
    return report


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # about Redis: one database is enough
async def test_the_worker_outlives_a_redis_restart_under_traffic(db_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    port = free_port()
    env = hub_env(db_url, f"redis://127.0.0.1:{port}/0", tmp_path, free_port(), HUB__INGEST__SWEEP_GRACE_S="1")
    log = tmp_path / "hub.log"
    redis = None
    try:
        with server(env, log) as base:  # both start while Redis is down
            worker = spawn("worker", env, log)
            try:
                await wait_for_line(log, "redis unavailable; the worker waits for it")
                redis = start_redis(port)
                await wait_ready(base)  # the worker got going and its heartbeat is seen
                async with trickle(base, "redis-restart") as traffic:
                    await asyncio.sleep(2)
                    redis.stop()  # an empty Redis comes back: its queue and locks are gone
                    await asyncio.sleep(1.5)
                    status, body = await readyz(base)
                    assert (status, body["data"]["redis"]) == (503, "down")
                    assert "redis down: the worker gets no jobs" in body["data"]["reasons"]
                    await asyncio.sleep(2.5)
                    redis = start_redis(port)
                    await asyncio.sleep(2)
                assert worker.poll() is None, f"the worker exited; see {log}"
                await wait_processed(db_url, traffic.tag, traffic.acked)
                await wait_ready(base)
                assert worker.poll() is None, f"the worker exited; see {log}"
            finally:
                assert stop(worker, log=log) == 0
    finally:
        if redis is not None:
            redis.stop()
    text = log.read_text(errors="replace")
    waits = text.count("redis unavailable; the worker waits for it")
    assert 2 <= waits <= 9, f"{waits} wait lines for ~1 s + ~4 s without Redis: one per back-off step expected"
    assert "lost redis; the worker keeps running and reconnects" in text
    assert "redis is back; the worker resumes and sweeps at once" in text
    faults = ["worker and server started without Redis", "redis stopped ~4 s under traffic, restarted empty"]
    await check_and_report("redis_restart", db_url, traffic, faults, started)


async def wait_for_line(log: Path, line: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in await asyncio.to_thread(log.read_text, errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{line!r} not logged within {timeout_s} s; see {log}")
        await asyncio.sleep(0.1)


class DatabaseOutage:
    """Makes the test's database unavailable: PostgreSQL refuses connections to it and drops the open
    ones; SQLite's write lock is held by another connection (reads still work)."""

    def __init__(self, db_url: str, request: pytest.FixtureRequest) -> None:
        self.db_url = db_url
        self.postgres = not db_url.startswith("sqlite://")
        self.cluster: PostgresCluster | None = request.getfixturevalue("pg_cluster") if self.postgres else None
        self.lock: sqlite3.Connection | None = None

    @property
    def name(self) -> str:
        if self.postgres:
            return "PostgreSQL refusing connections to the database, open ones terminated"
        return "SQLite write lock held by another process's connection (BEGIN EXCLUSIVE)"

    def begin(self) -> None:
        if self.cluster is not None:
            database = urlsplit(self.db_url).path.lstrip("/")
            self.cluster.psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            self.cluster.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
            return
        self.lock = sqlite3.connect(self.db_url.removeprefix("sqlite://"), isolation_level=None, timeout=5)
        self.lock.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        if self.cluster is not None:
            database = urlsplit(self.db_url).path.lstrip("/")
            self.cluster.psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        if self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None


async def test_a_database_outage_loses_no_acknowledged_message(
    db_url: str, redis_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    outage = DatabaseOutage(db_url, request)
    env = hub_env(db_url, redis_url, tmp_path, free_port(), HUB__INGEST__SWEEP_GRACE_S="1")
    log = tmp_path / "hub.log"
    with server(env, log) as base:
        worker = spawn("worker", env, log)
        try:
            await wait_ready(base)
            async with trickle(base, "db-outage") as traffic:
                await asyncio.sleep(2)
                outage.begin()
                try:
                    await asyncio.sleep(5)
                    if outage.postgres:
                        status, body = await readyz(base)
                        assert (status, body["data"]["database"]) == (503, "down")
                    await asyncio.sleep(5)
                finally:
                    outage.end()
                await asyncio.sleep(2)
            assert worker.poll() is None, f"the worker exited; see {log}"
            await wait_processed(db_url, traffic.tag, traffic.acked)
            assert worker.poll() is None, f"the worker exited; see {log}"
        finally:
            assert stop(worker, log=log) == 0
    report = await check_and_report(
        "database_outage", db_url, traffic, [f"{outage.name}, 10 s"], started, retried_ok=True
    )
    assert report["statuses"].get(503, 0) > 0, "the outage should have refused some callbacks"


# SQLite only: test_processes.py kills a worker on both databases (one message per transaction, no traffic).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_worker_killed_mid_batch_under_traffic_loses_and_repeats_nothing(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    # The killed worker's conversation locks lapse after lock_ttl_s: short, so the test is.
    env = hub_env(
        db_url, redis_url, tmp_path, free_port(), HUB__INGEST__SWEEP_GRACE_S="1", HUB__PROCESSING__LOCK_TTL_S="2"
    )
    log = tmp_path / "hub.log"
    with server(env, log) as base:
        backlog = Traffic(base, "worker-kill backlog")  # so that the kill lands while batches are processed
        await backlog.burst(200)
        async with trickle(base, "worker-kill trickle") as traffic:
            worker = spawn("worker", env, log)
            first_pid = worker.pid
            deadline = time.monotonic() + 30
            while len(await processed(db_url, "worker-kill")) < 20 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            at_kill = len(await processed(db_url, "worker-kill"))
            await asyncio.sleep(1)
            worker = spawn("worker", env, log)
            assert worker.pid != first_pid
            await asyncio.sleep(2)
        try:
            await wait_processed(db_url, "worker-kill", backlog.acked | traffic.acked)
        finally:
            assert stop(worker, log=log) == 0
    both = Traffic(base, "worker-kill", backlog.sent + traffic.sent)
    stored = len(await ledger(db_url, "worker-kill"))
    assert 0 < at_kill < stored, f"the kill should land mid-run ({at_kill} of {stored} processed)"
    fault = f"SIGKILL of the worker with {at_kill} of {stored} messages processed"
    await check_and_report("worker_kill", db_url, both, [fault], started)


async def processed(db_url: str, tag: str) -> set[str]:
    return {text for text, state, _ in await ledger(db_url, tag) if state == ProcessingState.PROCESSED}
