"""Write transactions that take SQLite's lock up front, the ingest-waiting flag, and the hold-time summary."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot import write_lock
from bot.db import dialect_of, open_db
from bot.write_lock import STALE_S, YIELD_POLL_S, HoldTimes, IngestSignal, write_transaction, yield_to_ingest
from models.robots import Robot


def sqlite_path(db_url: str) -> str:
    return db_url.removeprefix("sqlite://")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    async with open_db(db_url):
        yield db_url


def lock_is_free(path: str) -> bool:
    """Whether another connection could take the write lock right now (without waiting)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=0)) as other:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return False
            raise
        other.execute("ROLLBACK")
        return True


async def test_a_write_transaction_takes_the_lock_before_its_first_statement(db: str) -> None:
    if dialect_of(db) != "sqlite":
        pytest.skip("SQLite's single write lock")
    assert lock_is_free(sqlite_path(db))
    async with write_transaction("test"):
        # A plain (deferred) transaction would not hold it yet: it takes it at its first write, and fails
        # at once instead of waiting if another process committed since it started reading.
        assert not lock_is_free(sqlite_path(db))
    assert lock_is_free(sqlite_path(db))


async def test_a_write_transaction_commits_and_rolls_back(db: str) -> None:
    async with write_transaction("test") as tx:
        await Robot.create(id="wt-a", name="甲", using_db=tx.conn)

    async def fail_midway() -> None:
        async with write_transaction("test") as tx:
            await Robot.filter(id="wt-a").using_db(tx.conn).update(name="不算")
            await Robot.create(id="wt-b", name="乙", using_db=tx.conn)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await fail_midway()
    assert [(r.id, r.name) for r in await Robot.all()] == [("wt-a", "甲")]


async def test_spent_after_the_budget_or_when_ingest_waits(db: str) -> None:
    async with write_transaction("test", budget_s=0) as tx:
        assert tx.spent()
    async with write_transaction("test", budget_s=60) as tx:
        assert not tx.spent()
        if tx.signal is not None:  # SQLite: ingest raising its flag ends the transaction early
            tx.signal.raise_flag()
            assert tx.spent()
            tx.signal.lower_flag()
            assert not tx.spent()
    assert (dialect_of(db) == "sqlite") == (tx.signal is not None)


def test_the_flag_is_shared_through_the_file_and_goes_stale(tmp_path: Path) -> None:
    ingest, worker = IngestSignal(str(tmp_path / "hub.sqlite3")), IngestSignal(str(tmp_path / "hub.sqlite3"))
    try:
        assert not worker.waiting()
        ingest.raise_flag()
        assert worker.waiting()
        ingest.lower_flag()
        assert not worker.waiting()
        write_lock._FLAG.pack_into(ingest._map, 0, time.monotonic() - STALE_S - 1)  # a dead ingest's flag
        assert not worker.waiting()
    finally:
        ingest.close()
        worker.close()


async def test_the_worker_waits_while_ingest_waits(tmp_path: Path) -> None:
    ingest, worker = IngestSignal(str(tmp_path / "hub.sqlite3")), IngestSignal(str(tmp_path / "hub.sqlite3"))
    try:
        assert await yield_to_ingest(worker) == 0.0
        ingest.raise_flag()
        waiting = asyncio.create_task(yield_to_ingest(worker))
        await asyncio.sleep(YIELD_POLL_S * 5)
        assert not waiting.done()
        ingest.lower_flag()
        assert await asyncio.wait_for(waiting, 1) > 0
    finally:
        ingest.close()
        worker.close()


def test_hold_times_are_summarised_per_kind() -> None:
    holds = HoldTimes(every_s=3600)
    for ms in range(1, 101):
        holds.add("process", ms / 1000)
    holds.add("task sweep", 0.002)
    with capture_logs() as logs:
        holds.report()
    summary = {entry["what"]: entry for entry in logs if entry["event"] == "write lock holds"}
    assert (summary["process"]["n"], summary["process"]["p99_ms"], summary["process"]["max_ms"]) == (100, 99.0, 100.0)
    assert summary["task sweep"]["max_ms"] == 2.0
    with capture_logs() as logs:
        holds.report()
    assert logs == []  # reset after each summary
