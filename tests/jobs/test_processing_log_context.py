"""Issue 16: every line logged while the worker processes a message carries its conversation and message
ids (bound as structlog context), whoever logs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture

import jobs.processing
from bot.clock import FrozenClock
from jobs.processing import WorkerDeps, process_conversations
from models.messages import InboundMessage
from tests.jobs.deps import worker_deps
from tests.jobs.test_processing import body, ingest


@pytest.fixture
async def deps(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[WorkerDeps]:
    async with worker_deps(db_url, redis_url, tmp_path, clock) as deps:
        yield deps


@pytest.fixture
def captured() -> Iterator[LogCapture]:
    config = structlog.get_config()
    capture = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    yield capture
    structlog.configure(**config)


async def test_lines_logged_while_processing_carry_the_message_and_conversation_ids(
    deps: WorkerDeps, captured: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await ingest(deps, [body("第一条"), body("第二条")])
    conversation_id = (await InboundMessage.get(id=ids[0])).conversation_id  # type: ignore[attr-defined]
    process_one = jobs.processing._process_one

    async def logging_process_one(message: InboundMessage, *args: Any) -> Any:
        structlog.get_logger("a.step").info("a step says something")  # names no id itself
        return await process_one(message, *args)

    monkeypatch.setattr(jobs.processing, "_process_one", logging_process_one)
    assert await process_conversations({"deps": deps}, [conversation_id]) == 2
    steps = [e for e in captured.entries if e["event"] == "a step says something"]
    assert [(e["conversation_id"], e["message_id"]) for e in steps] == [(conversation_id, i) for i in ids]
    assert structlog.contextvars.get_contextvars() == {}  # unbound once the job is done
