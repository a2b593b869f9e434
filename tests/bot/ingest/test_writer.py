"""The group-commit writer: batching, retries through a short outage, and clean failure after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.callbacks.payloads import MessageCallback
from bot.db import dialect_of, open_db
from bot.ingest.incoming import Incoming, normalise
from bot.ingest.writer import IngestUnavailable, IngestWriter, Stored
from models.messages import InboundMessage

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def incoming(i: int) -> Incoming:
    body = {"spoken": f"消息{i}", "receivedName": "号主", "groupName": f"群{i % 3}", "roomType": 1}
    return normalise("wt-robot-1", MessageCallback.model_validate(body), T0 + timedelta(milliseconds=i))


class FlakyWriter(IngestWriter):
    """Fails its first `failures` commits the way a dropped database connection does."""

    def __init__(self, failures: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.failures = failures
        self.calls = 0

    async def _commit(self, batch: Sequence[Incoming]) -> tuple[list[Stored], dict[int, int]]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionResetError("connection to the database was lost")
        return await super()._commit(batch)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    async with open_db(db_url):
        yield db_url


async def test_concurrent_submits_share_transactions(db: str) -> None:
    writer = IngestWriter(dialect=dialect_of(db), dedup_window=timedelta(seconds=15), max_batch=50)
    writer.start()
    results = await asyncio.gather(*(writer.submit(incoming(i)) for i in range(200)))
    await writer.stop()
    assert len({r.message_id for r in results}) == 200
    assert writer.batches < 200  # grouped, not one transaction per callback
    assert await InboundMessage.all().count() == 200
    ids = [r.message_id for r in results]
    assert ids == sorted(ids)  # ids follow arrival order


async def test_a_short_outage_is_ridden_out(db: str) -> None:
    writer = FlakyWriter(2, dialect=dialect_of(db), dedup_window=timedelta(seconds=15), max_batch=50)
    writer.start()
    stored = await writer.submit(incoming(1))
    await writer.stop()
    assert writer.calls == 3
    assert await InboundMessage.filter(id=stored.message_id).exists()


async def test_a_long_outage_fails_the_callers_and_stores_nothing(db: str) -> None:
    writer = FlakyWriter(
        100, dialect=dialect_of(db), dedup_window=timedelta(seconds=15), max_batch=50, retry_budget_s=0.2
    )
    writer.start()
    with pytest.raises(IngestUnavailable, match="connection to the database was lost"):
        await writer.submit(incoming(1))
    await writer.stop()
    assert await InboundMessage.all().count() == 0
