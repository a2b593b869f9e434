"""Ordered, exactly-once processing of a conversation's messages (in-process, real Redis lock, both DBs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.callbacks.payloads import MessageCallback
from bot.clock import FrozenClock
from bot.ingest.incoming import normalise
from bot.ingest.writer import IngestWriter, backend_for
from bot.queue import pending_work
from handlers import pipeline
from jobs.processing import MAX_ATTEMPTS, WorkerDeps, drain_conversation, process_conversations
from models.conversations import Conversation
from models.messages import InboundMessage, ProcessingState
from models.robots import Robot, note_callback
from tests.jobs.deps import worker_deps


@pytest.fixture
async def deps(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[WorkerDeps]:
    async with worker_deps(db_url, redis_url, tmp_path, clock) as deps:
        yield deps


async def ingest(deps: WorkerDeps, bodies: list[dict[str, Any]]) -> list[int]:
    window = timedelta(seconds=15)
    writer = IngestWriter(backend=backend_for(deps.settings.database.url, window), max_batch=100)
    await writer.start()
    ids = []
    for body in bodies:
        callback = MessageCallback.model_validate(body)
        stored = await writer.submit(normalise("wt-robot-1", callback, deps.clock.now()))
        ids.append(stored.message_id)
        deps.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    await writer.stop()
    return ids


def body(text: str, sender: str = "号主A", group: str = "群1") -> dict[str, Any]:
    return {"spoken": text, "receivedName": sender, "groupName": group, "roomType": 1}


async def test_messages_are_processed_in_order_with_sender_roles(deps: WorkerDeps) -> None:
    senders = ["号主A", "小王", "小助手", "阿杰", "张经理", "号主B"]
    ids = await ingest(deps, [body(f"消息{i}", sender=s) for i, s in enumerate(senders)])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    assert await process_conversations({"deps": deps}, [conv_id]) == len(ids)
    rows = await InboundMessage.filter(id__in=ids).order_by("id")
    assert [r.sender_role for r in rows] == ["user", "staff", "robot", "operator", "manager", "user"]
    assert all(r.state == ProcessingState.PROCESSED and r.attempts == 1 for r in rows)
    assert await drain_conversation(deps, conv_id) == 0  # nothing left: a second run is a no-op


async def test_concurrent_processors_handle_each_message_once_in_order(
    deps: WorkerDeps,
) -> None:
    ids = await ingest(deps, [body(f"第{i}条") for i in range(120)])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    seen: list[int] = []

    async def recording_step(
        message: InboundMessage, ctx: pipeline.StepContext, update: pipeline.MessageUpdate
    ) -> None:
        seen.append(message.id)
        await asyncio.sleep(0)  # let the other processors run between messages

    recording = replace(deps, steps=(*deps.steps, recording_step))
    counts = await asyncio.gather(*(drain_conversation(recording, conv_id) for _ in range(4)))
    assert sum(counts) == 120
    assert seen == ids  # each exactly once, in arrival order
    assert await InboundMessage.filter(state=ProcessingState.PROCESSED).count() == 120


async def test_a_failing_message_blocks_its_conversation_then_fails_after_retries(
    deps: WorkerDeps,
) -> None:
    ids = await ingest(deps, [body("好"), body("坏"), body("后")])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]

    async def exploding_step(
        message: InboundMessage, ctx: pipeline.StepContext, update: pipeline.MessageUpdate
    ) -> None:
        if message.text == "坏":
            raise RuntimeError("boom")

    exploding = replace(deps, steps=(*deps.steps, exploding_step))
    assert await drain_conversation(exploding, conv_id) == 1  # the first; then blocked to keep order
    bad = await InboundMessage.get(id=ids[1])
    assert (bad.state, bad.attempts, bad.error) == (ProcessingState.PENDING, 1, "RuntimeError: boom")
    assert (await InboundMessage.get(id=ids[2])).state == ProcessingState.PENDING
    for _ in range(MAX_ATTEMPTS - 1):
        await drain_conversation(exploding, conv_id)
    states = [m.state for m in await InboundMessage.filter(id__in=ids).order_by("id")]
    assert states == [ProcessingState.PROCESSED, ProcessingState.FAILED, ProcessingState.PROCESSED]
    assert (await Conversation.get(id=conv_id)).processed_upto == ids[2]


async def test_processing_moves_the_mark_and_later_messages_are_found_above_it(deps: WorkerDeps) -> None:
    ids = await ingest(deps, [body("一"), body("二")])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    assert (await Conversation.get(id=conv_id)).processed_upto == 0
    assert await drain_conversation(deps, conv_id) == 2
    assert (await Conversation.get(id=conv_id)).processed_upto == ids[1]
    later = await ingest(deps, [body("三")])
    assert await drain_conversation(deps, conv_id) == 1
    assert (await Conversation.get(id=conv_id)).processed_upto == later[0]


async def test_the_sweep_lowers_a_mark_that_hides_a_pending_message(deps: WorkerDeps) -> None:
    ids = await ingest(deps, [body("一"), body("二")])
    conv_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    await Conversation.filter(id=conv_id).update(processed_upto=ids[1])  # as if it had gone wrong
    assert await drain_conversation(deps, conv_id) == 0  # hidden
    assert await pending_work(deps.clock.now(), timedelta(seconds=0)) == {conv_id: ids[1]}
    assert (await Conversation.get(id=conv_id)).processed_upto == ids[0] - 1
    assert await drain_conversation(deps, conv_id) == 2


async def test_pending_work_lists_only_overdue_conversations(deps: WorkerDeps) -> None:
    ids = await ingest(deps, [body("a", group="甲"), body("b", group="乙")])
    clock: FrozenClock = deps.clock  # type: ignore[assignment]
    first = await InboundMessage.get(id=ids[0])
    second = await InboundMessage.get(id=ids[1])
    work = await pending_work(clock.now(), timedelta(seconds=1.5))
    assert work == {first.conversation_id: ids[0]}  # type: ignore[attr-defined]
    work = await pending_work(clock.now(), timedelta(seconds=0))
    assert work == {first.conversation_id: ids[0], second.conversation_id: ids[1]}  # type: ignore[attr-defined]


async def test_processing_notes_when_each_robot_last_reported(deps: WorkerDeps) -> None:
    writer = IngestWriter(backend=backend_for(deps.settings.database.url, timedelta(seconds=15)), max_batch=100)
    await writer.start()
    first = deps.clock.now()
    callback = MessageCallback.model_validate(body("在吗"))
    stored = await writer.submit(normalise("wt-robot-1", callback, first))
    await writer.submit(normalise("wt-robot-2", callback, first + timedelta(seconds=2)))  # its copy: a sighting
    await writer.stop()
    conv_id = (await InboundMessage.get(id=stored.message_id)).conversation_id  # type: ignore[attr-defined]
    await drain_conversation(deps, conv_id)
    robots = {r.id: r.last_callback_at for r in await Robot.all()}
    assert robots == {"wt-robot-1": first, "wt-robot-2": first + timedelta(seconds=2)}
    await note_callback("wt-robot-1", first - timedelta(hours=1))  # an older report never moves it back
    assert (await Robot.get(id="wt-robot-1")).last_callback_at == first
