"""One callback the database refuses fails alone: the writer splits its batch, stores the neighbours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.callbacks.payloads import MessageCallback
from bot.db import open_db
from bot.ingest.incoming import Incoming, normalise
from bot.ingest.plan import BatchPlan, Stored
from bot.ingest.writer import Backend, IngestRefused, IngestUnavailable, IngestWriter, backend_for
from models.messages import InboundMessage

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=15)


def incoming(i: int) -> Incoming:
    body = {"spoken": f"消息{i}", "receivedName": "号主", "groupName": f"群{i % 3}", "roomType": 1}
    return normalise("wt-robot-1", MessageCallback.model_validate(body), T0 + timedelta(milliseconds=i))


# Values that slipped past validation would fail the whole transaction: built directly, bypassing it.
POISONS = {
    "integer beyond 64 bits": lambda i: i._replace(text_type=2**70),  # SQLite OverflowError, asyncpg int32
    "lone surrogate": lambda i: i._replace(text="坏\ud800"),  # neither driver can encode it
}


class CountingBackend:
    def __init__(self, real: Backend) -> None:
        self.real = real
        self.commits: list[int] = []  # sizes of the parts tried

    async def open(self) -> None:
        await self.real.open()

    async def close(self) -> None:
        await self.real.close()

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        self.commits.append(len(batch))
        return await self.real.commit(batch)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    async with open_db(db_url):
        yield db_url


async def submit_all(writer: IngestWriter, items: list[Incoming]) -> list[Stored | BaseException]:
    return await asyncio.gather(*(writer.submit(i) for i in items), return_exceptions=True)


@pytest.mark.parametrize("poison", sorted(POISONS))
async def test_the_culprit_is_refused_and_its_batch_neighbours_are_stored(db: str, poison: str) -> None:
    backend = CountingBackend(backend_for(db, WINDOW))
    writer = IngestWriter(backend=backend, max_batch=50)
    await writer.start()
    items = [incoming(i) for i in range(20)]
    items[11] = POISONS[poison](items[11])
    results = await submit_all(writer, items)
    later = await writer.submit(incoming(99))  # the writer goes on
    await writer.stop()
    assert isinstance(results[11], IngestRefused)
    innocents = [r for i, r in enumerate(results) if i != 11]
    assert all(isinstance(r, Stored) for r in innocents), innocents
    assert backend.commits[0] > 1  # the culprit really shared a transaction with innocent callbacks
    stored = [m.text for m in await InboundMessage.all().order_by("id")]
    assert stored == [f"消息{i}" for i in range(20) if i != 11] + ["消息99"]  # in arrival order, once each
    assert [r.message_id for r in innocents if isinstance(r, Stored)] == sorted(
        r.message_id for r in innocents if isinstance(r, Stored)
    )
    assert isinstance(later, Stored)


async def test_two_culprits_in_one_batch_each_fail_alone(db: str) -> None:
    writer = IngestWriter(backend=backend_for(db, WINDOW), max_batch=50)
    await writer.start()
    items = [incoming(i) for i in range(30)]
    items[3] = POISONS["integer beyond 64 bits"](items[3])
    items[27] = POISONS["lone surrogate"](items[27])
    results = await submit_all(writer, items)
    await writer.stop()
    refused = [i for i, r in enumerate(results) if isinstance(r, IngestRefused)]
    assert refused == [3, 27]
    assert await InboundMessage.all().count() == 28


class DownBackend:
    """A database that is not there: every commit fails the way a dropped connection does."""

    def __init__(self) -> None:
        self.commits: list[int] = []

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        self.commits.append(len(batch))
        raise ConnectionResetError("connection to the database was lost")


async def test_an_outage_is_not_taken_for_bad_input() -> None:
    backend = DownBackend()
    writer = IngestWriter(backend=backend, max_batch=50, retry_budget_s=0.2)
    await writer.start()
    results = await submit_all(writer, [incoming(i) for i in range(10)])
    await writer.stop()
    assert all(isinstance(r, IngestUnavailable) for r in results)  # 503 for all: none blamed with a 4xx
    assert set(backend.commits) == {10}  # retried whole, never split
