"""A backlog is processed in chunks, each its own short transaction: what a chunk committed stays processed
(a crash loses only the chunk it was in), the rest stays pending above the mark, and a chunk ends early
when ingest waits for SQLite's write lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot import write_lock
from bot.clock import FrozenClock
from bot.db import connection, dialect_of
from bot.effects import Effects
from handlers import pipeline
from jobs import processing
from jobs.processing import WorkerDeps, drain_conversation, process_conversations
from models.conversations import Conversation
from models.messages import InboundMessage, ProcessingState
from tests.jobs.deps import worker_deps
from tests.jobs.test_processing import body, ingest


class Crash(BaseException):
    """The worker dying mid-chunk (not an Exception: nothing in the job catches it)."""


@pytest.fixture
async def deps(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[WorkerDeps]:
    async with worker_deps(db_url, redis_url, tmp_path, clock) as deps:
        yield deps


def crashing_at(text: str, seen: list[str]) -> pipeline.Step:
    async def step(message: InboundMessage, ctx: pipeline.StepContext, update: pipeline.MessageUpdate) -> None:
        seen.append(message.text)
        if message.text == text:
            raise Crash

    return step


async def states(ids: list[int]) -> list[ProcessingState]:
    return [m.state for m in await InboundMessage.filter(id__in=ids).order_by("id")]


async def test_a_crash_loses_only_the_chunk_it_was_in(deps: WorkerDeps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_lock, "HOLD_BUDGET_S", 0.0)  # every message is a chunk of its own
    ids = await ingest(deps, [body(f"第{i}条") for i in range(6)])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    seen: list[str] = []
    with pytest.raises(Crash):
        await drain_conversation(replace(deps, steps=(*deps.steps, crashing_at("第3条", seen))), conv_id)
    # One transaction for the batch (as before) would have rolled all of it back.
    assert await states(ids) == [ProcessingState.PROCESSED] * 3 + [ProcessingState.PENDING] * 3
    assert (await Conversation.get(id=conv_id)).processed_upto == ids[2]
    assert await drain_conversation(replace(deps, steps=(*deps.steps, crashing_at("-", seen))), conv_id) == 3
    assert seen == ["第0条", "第1条", "第2条", "第3条", "第3条", "第4条", "第5条"]  # 第3条's chunk rolled back
    assert await states(ids) == [ProcessingState.PROCESSED] * 6
    assert {m.attempts for m in await InboundMessage.filter(id__in=ids)} == {1}
    assert (await Conversation.get(id=conv_id)).processed_upto == ids[5]


async def test_a_chunks_wake_ups_go_out_when_it_commits_not_after_the_job(
    deps: WorkerDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reply queued in a chunk wakes its robot once that chunk has committed: not after the whole job
    # (up to 8 conversations with their LLM calls), and each wake-up once.
    monkeypatch.setattr(write_lock, "HOLD_BUDGET_S", 0.0)  # every message is a chunk of its own
    ids = await ingest(deps, [body("第0条"), body("第1条"), body("第2条", group="群2")])
    rows = await InboundMessage.filter(id__in=ids)
    conversations = sorted({m.conversation_id for m in rows})  # type: ignore[attr-defined]
    woken: list[str] = []

    async def record(_deps: WorkerDeps, effects: Effects) -> None:
        woken.extend(sorted(effects.robots))

    monkeypatch.setattr(processing, "_apply", record)
    seen: list[tuple[str, list[str]]] = []

    async def step(message: InboundMessage, ctx: pipeline.StepContext, update: pipeline.MessageUpdate) -> None:
        seen.append((message.text, list(woken)))
        update.effects.robots.add(f"robot-{message.text}")

    assert await process_conversations({"deps": replace(deps, steps=(*deps.steps, step))}, conversations) == 3
    first = dict(seen)["第1条"]
    assert "robot-第0条" in first  # woken before the next chunk of its conversation ran
    assert sorted(woken) == ["robot-第0条", "robot-第1条", "robot-第2条"]  # each once


async def test_a_backlog_within_the_budget_is_one_chunk(deps: WorkerDeps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_lock, "HOLD_BUDGET_S", 3600.0)
    ids = await ingest(deps, [body(f"第{i}条") for i in range(5)])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    with pytest.raises(Crash):
        await drain_conversation(replace(deps, steps=(*deps.steps, crashing_at("第4条", []))), conv_id)
    assert await states(ids) == [ProcessingState.PENDING] * 5  # one transaction: all rolled back
    assert (await Conversation.get(id=conv_id)).processed_upto == 0


async def test_a_chunk_ends_when_ingest_waits_and_the_next_waits_for_ingest(
    deps: WorkerDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    if dialect_of(deps.settings.database.url) != "sqlite":
        pytest.skip("the ingest-waiting flag is SQLite's")
    monkeypatch.setattr(write_lock, "HOLD_BUDGET_S", 3600.0)  # only ingest can end the chunk
    signal = write_lock.IngestSignal(deps.settings.database.url.removeprefix("sqlite://"))
    ids = await ingest(deps, [body(f"第{i}条") for i in range(5)])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    flag_at_start: list[bool] = []

    async def ingest_arrives(
        message: InboundMessage, ctx: pipeline.StepContext, update: pipeline.MessageUpdate
    ) -> None:
        if message.text == "第1条":
            signal.raise_flag()  # as ingest does when it finds the lock taken
            asyncio.get_running_loop().call_later(0.05, signal.lower_flag)  # ... and lowers once it has it
        if message.text == "第2条":
            flag_at_start.append(signal.waiting())
            raise Crash

    try:
        with pytest.raises(Crash):
            await drain_conversation(replace(deps, steps=(*deps.steps, ingest_arrives)), conv_id)
    finally:
        signal.close()
    assert await states(ids) == [ProcessingState.PROCESSED] * 2 + [ProcessingState.PENDING] * 3
    assert flag_at_start == [False]  # the next chunk started only after ingest had its turn


async def test_a_write_transaction_in_a_transaction_is_part_of_it(deps: WorkerDeps) -> None:
    async with write_lock.write_transaction("outer") as outer:
        assert connection() is outer.conn
        async with write_lock.write_transaction("inner") as inner:
            assert inner.signal is None  # no waiting for ingest while the outer one holds the lock
