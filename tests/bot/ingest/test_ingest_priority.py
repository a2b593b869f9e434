"""Ingest on SQLite tells the worker it is waiting for the write lock (bot/write_lock.py): the worker
commits its chunk at its next message and waits for ingest before its next one."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta

import pytest

from bot.db import dialect_of
from bot.ingest.writer import backend_for
from bot.write_lock import IngestSignal
from tests.bot.ingest.test_writer import incoming

WINDOW = timedelta(seconds=15)


async def test_ingest_raises_the_flag_while_another_process_holds_the_lock(db_url: str) -> None:
    if dialect_of(db_url) != "sqlite":
        pytest.skip("SQLite's single write lock")
    path = db_url.removeprefix("sqlite://")
    backend, worker = backend_for(db_url, WINDOW), IngestSignal(path)
    await backend.open()
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # the worker, mid-chunk
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await backend.commit([incoming(1)])
            assert worker.waiting()  # the worker commits its chunk and waits
            other.execute("COMMIT")
        plan = await backend.commit([incoming(1)])
        assert len(plan.new) == 1
        assert not worker.waiting()  # lowered as soon as ingest had the lock
    finally:
        await backend.close()
        worker.close()
