"""The group-commit writer: batching, retries through a short outage, and clean failure after it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.callbacks.payloads import MessageCallback
from bot.db import open_db
from bot.ingest.incoming import Incoming, normalise
from bot.ingest.plan import BatchPlan
from bot.ingest.writer import Backend, IngestUnavailable, IngestWriter, backend_for
from models.messages import InboundMessage

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def incoming(i: int) -> Incoming:
    body = {"spoken": f"消息{i}", "receivedName": "号主", "groupName": f"群{i % 3}", "roomType": 1}
    return normalise("wt-robot-1", MessageCallback.model_validate(body), T0 + timedelta(milliseconds=i))


class FlakyBackend:
    """Fails its first `failures` commits the way a dropped database connection does."""

    def __init__(self, real: Backend, failures: int) -> None:
        self.real = real
        self.failures = failures
        self.calls = 0

    async def open(self) -> None:
        await self.real.open()

    async def close(self) -> None:
        await self.real.close()

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionResetError("connection to the database was lost")
        return await self.real.commit(batch)


WINDOW = timedelta(seconds=15)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    async with open_db(db_url):
        yield db_url


async def test_concurrent_submits_share_transactions(db: str) -> None:
    writer = IngestWriter(backend=backend_for(db, WINDOW), max_batch=50)
    await writer.start()
    results = await asyncio.gather(*(writer.submit(incoming(i)) for i in range(200)))
    await writer.stop()
    assert len({r.message_id for r in results}) == 200
    assert writer.batches < 200  # grouped, not one transaction per callback
    assert await InboundMessage.all().count() == 200
    ids = [r.message_id for r in results]
    assert ids == sorted(ids)  # ids follow arrival order


async def test_a_short_outage_is_ridden_out(db: str) -> None:
    backend = FlakyBackend(backend_for(db, WINDOW), failures=2)
    writer = IngestWriter(backend=backend, max_batch=50)
    await writer.start()
    stored = await writer.submit(incoming(1))
    await writer.stop()
    assert backend.calls == 3
    assert await InboundMessage.filter(id=stored.message_id).exists()


async def test_a_long_outage_fails_the_callers_and_stores_nothing(db: str) -> None:
    backend = FlakyBackend(backend_for(db, WINDOW), failures=100)
    writer = IngestWriter(backend=backend, max_batch=50, retry_budget_s=0.2)
    await writer.start()
    with pytest.raises(IngestUnavailable, match="connection to the database was lost"):
        await writer.submit(incoming(1))
    await writer.stop()
    assert await InboundMessage.all().count() == 0


def copy_of(i: int, robot: str, ext: str | None = None) -> Incoming:
    body = {"spoken": f"消息{i}", "receivedName": "号主", "groupName": f"群{i % 3}", "roomType": 1}
    if ext:
        body["messageId"] = ext
    return normalise(robot, MessageCallback.model_validate(body), T0 + timedelta(milliseconds=i))


async def test_a_restarted_writer_remembers_recent_messages(db: str) -> None:
    first = IngestWriter(backend=backend_for(db, WINDOW, timedelta(minutes=10)), max_batch=50)
    await first.start()
    stored = await first.submit(copy_of(1, "wt-robot-1", ext="m-1"))
    await first.stop()
    second = IngestWriter(backend=backend_for(db, WINDOW, timedelta(minutes=10)), max_batch=50)
    await second.start()
    again = await second.submit(copy_of(1, "wt-robot-1", ext="m-1"))
    copy = await second.submit(copy_of(1, "wt-robot-2"))
    await second.stop()
    assert again.message_id == copy.message_id == stored.message_id
    assert await InboundMessage.all().count() == 1


async def test_two_ingest_processes_stay_exact(db: str) -> None:
    """Two writers on one database (as two server processes would be): each sees the other's rows."""
    a = IngestWriter(backend=backend_for(db, WINDOW), max_batch=10)
    b = IngestWriter(backend=backend_for(db, WINDOW), max_batch=10)
    await a.start()
    await b.start()
    results = await asyncio.gather(
        *(a.submit(copy_of(i, "wt-robot-1", ext=f"a{i}")) for i in range(40)),
        *(b.submit(copy_of(i, "wt-robot-2", ext=f"b{i}")) for i in range(40)),
        *(b.submit(copy_of(i, "wt-robot-1", ext=f"a{i}")) for i in range(0, 40, 4)),  # re-deliveries via b
    )
    await a.stop()
    await b.stop()
    assert await InboundMessage.all().count() == 40
    reports = Counter(result.message_id for result in results)
    assert sorted(set(reports.values())) == [2, 3]  # each message: two robots, some re-delivered once


async def test_a_running_writer_sees_what_another_process_committed_since(db: str) -> None:
    """Both mirrors are loaded first; then each learns of the other's new rows before deciding."""
    a = IngestWriter(backend=backend_for(db, WINDOW), max_batch=10)
    b = IngestWriter(backend=backend_for(db, WINDOW), max_batch=10)
    await a.start()
    await b.start()
    await a.submit(copy_of(100, "wt-robot-1", ext="warm-a"))
    await b.submit(copy_of(101, "wt-robot-1", ext="warm-b"))
    first = await a.submit(copy_of(1, "wt-robot-1", ext="m-1"))
    by_id = await b.submit(copy_of(1, "wt-robot-1", ext="m-1"))  # a re-delivery through the other process
    by_content = await b.submit(copy_of(1, "wt-robot-2"))  # another robot's copy, no id
    back = await a.submit(copy_of(1, "wt-robot-2"))  # and that copy again, through the first process
    await a.stop()
    await b.stop()
    assert first.message_id == by_id.message_id == by_content.message_id == back.message_id
    assert [r.verdict for r in (first, by_id, by_content, back)] == ["new", "redelivery", "copy", "redelivery"]
    assert await InboundMessage.all().count() == 3


def at_robot(i: int, robot: str, at_me: bool) -> Incoming:
    body = {"spoken": f"@小助手 问题{i}", "receivedName": "号主", "groupName": "群", "roomType": 1, "atMe": at_me}
    return normalise(robot, MessageCallback.model_validate(body), T0 + timedelta(milliseconds=i))


async def test_a_message_is_at_me_when_any_robots_copy_says_so(db: str) -> None:
    """ "@小助手" reaches every robot of the group; only the @-ed robot's copy has atMe. Whichever copy comes
    first, the message is @ the hub's robot: stored after its first report, or in the same batch."""
    writer = IngestWriter(backend=backend_for(db, WINDOW), max_batch=50)
    await writer.start()
    earlier = await writer.submit(at_robot(1, "wt-robot-1", at_me=False))
    await writer.submit(at_robot(1, "wt-robot-2", at_me=True))  # a later batch: the stored row is marked
    same_batch = await asyncio.gather(
        writer.submit(at_robot(2, "wt-robot-1", at_me=False)), writer.submit(at_robot(2, "wt-robot-2", at_me=True))
    )
    plain = await writer.submit(at_robot(3, "wt-robot-1", at_me=False))
    await writer.submit(at_robot(3, "wt-robot-2", at_me=False))
    await writer.stop()
    assert len({r.message_id for r in same_batch}) == 1
    flags = dict(await InboundMessage.all().values_list("id", "at_me"))
    assert flags == {earlier.message_id: True, same_batch[0].message_id: True, plain.message_id: False}
