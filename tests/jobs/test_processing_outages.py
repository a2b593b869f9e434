"""Processing during a database outage: the job fails (arq retries it) and no message pays an attempt.

A PostgreSQL restart leaves the pool with dead connections, each failing one query while the next one
works: if those failures counted as the message's attempts, three of them would mark a good message
failed. Simulated here by a pipeline step that raises the driver's connection error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from bot.clock import FrozenClock
from handlers import pipeline
from jobs.outages import database_unreachable
from jobs.processing import MAX_ATTEMPTS, WorkerDeps, drain_conversation
from models.messages import InboundMessage, ProcessingState
from tests.jobs.deps import worker_deps
from tests.jobs.test_processing import body, ingest


@pytest.fixture
async def deps(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[WorkerDeps]:
    async with worker_deps(db_url, redis_url, tmp_path, clock) as deps:
        yield deps


async def test_a_connection_lost_mid_processing_costs_no_attempt(deps: WorkerDeps) -> None:
    ids = await ingest(deps, [body("一"), body("二")])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    drops = 0

    async def dropping_step(message: InboundMessage, ctx: pipeline.StepContext, update: pipeline.MessageUpdate) -> None:
        nonlocal drops
        if drops < 2 * MAX_ATTEMPTS:  # enough to fail the message for good if each drop were its fault
            drops += 1
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    dropping = replace(deps, steps=(*deps.steps, dropping_step))
    for _ in range(2 * MAX_ATTEMPTS):
        with pytest.raises(Exception) as failed:
            await drain_conversation(dropping, conv_id)
        assert database_unreachable(failed.value)  # the job fails: arq retries it (jobs/outages.py)
    rows = await InboundMessage.filter(id__in=ids).order_by("id")
    assert [(r.state, r.attempts, r.error is None) for r in rows] == [(ProcessingState.PENDING, 0, True)] * 2

    assert await drain_conversation(dropping, conv_id) == 2  # the database is back
    rows = await InboundMessage.filter(id__in=ids).order_by("id")
    assert [(r.state, r.attempts) for r in rows] == [(ProcessingState.PROCESSED, 1)] * 2
