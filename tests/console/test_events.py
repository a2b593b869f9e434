"""Live events: published to the Redis stream, read by every web process's feed, caught up after a
reconnect (Last-Event-ID) or told to re-fetch; publishing never fails its caller."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot import events
from bot.console.live import RESYNC, EventFeed
from bot.embedded_redis import free_port


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_an_event_reaches_every_feed_and_a_reconnect_catches_up(redis: Redis, redis_url: str) -> None:
    first, second = EventFeed(redis_url), EventFeed(redis_url)  # two web processes
    try:
        q1, missed1 = await first.subscribe(None)
        q2, _ = await second.subscribe(None)
        assert missed1 == []
        await asyncio.sleep(0.2)  # both readers are waiting at the stream's end
        event_id = await events.publish(redis, "alert", alert_id=7, action="opened", conversation_id=3)
        assert event_id is not None
        got1 = await asyncio.wait_for(q1.get(), 3)
        got2 = await asyncio.wait_for(q2.get(), 3)
        assert got1 == got2
        assert got1[0] == event_id
        assert json.loads(got1[1]) == {"kind": "alert", "alert_id": 7, "action": "opened", "conversation_id": 3}
        later = await events.publish(redis, "task", task_id=1, action="completed")
        await events.conversation_processed(redis, 3, 0)  # nothing processed: no event
        _, missed = await first.subscribe(event_id)  # a page that saw `event_id`, reconnecting
        assert [i for i, _ in missed] == [later]
        _, lost = await first.subscribe("1-0")  # older than anything the stream still holds
        assert lost == [RESYNC]
        _, bad = await first.subscribe("not-an-id")
        assert bad == [RESYNC]
    finally:
        await first.close()
        await second.close()


async def test_publishing_without_redis_is_a_warning_not_a_failure() -> None:
    nowhere: Redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    try:
        assert await events.publish(nowhere, "alert", alert_id=1) is None
    finally:
        await nowhere.aclose()
