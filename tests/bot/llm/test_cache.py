"""The response cache: in-process LRU on the clock, and Redis (errors are misses)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.clock import FrozenClock
from bot.embedded_redis import free_port
from bot.llm.cache import KEY_PREFIX, MemoryCache, RedisCache, cache_key
from bot.llm.prompt import build_messages
from tests.bot.llm.conftest import CHOICES, CONTEXT


def test_the_key_depends_on_model_and_every_part_of_the_prompt() -> None:
    base = build_messages("二维码过期了", "owner", CONTEXT, CHOICES)
    key = cache_key("m1", base)
    assert key == cache_key("m1", build_messages("二维码过期了", "owner", CONTEXT, CHOICES))
    assert len(key) == 64
    others = {
        cache_key("m2", base),
        cache_key("m1", build_messages("二维码过期了!", "owner", CONTEXT, CHOICES)),
        cache_key("m1", build_messages("二维码过期了", "staff", CONTEXT, CHOICES)),
        cache_key("m1", build_messages("二维码过期了", "owner", CONTEXT[:1], CHOICES)),
        cache_key("m1", build_messages("二维码过期了", "owner", CONTEXT, CHOICES[:2])),
    }
    assert key not in others
    assert len(others) == 5


async def test_memory_cache_expires_by_the_clock(clock: FrozenClock) -> None:
    cache = MemoryCache(clock)
    await cache.put("k", "v", ttl_s=10)
    clock.advance(timedelta(seconds=9))
    assert await cache.get("k") == "v"
    clock.advance(timedelta(seconds=1))
    assert await cache.get("k") is None
    assert len(cache) == 0


async def test_memory_cache_evicts_the_least_recently_used(clock: FrozenClock) -> None:
    cache = MemoryCache(clock, max_entries=2)
    await cache.put("a", "1", ttl_s=60)
    await cache.put("b", "2", ttl_s=60)
    assert await cache.get("a") == "1"  # now b is the oldest use
    await cache.put("c", "3", ttl_s=60)
    assert len(cache) == 2
    assert await cache.get("b") is None
    assert await cache.get("a") == "1"
    assert await cache.get("c") == "3"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_redis_cache_stores_under_the_prefix_with_a_ttl(redis: Redis) -> None:
    cache = RedisCache(redis)
    assert await cache.get("abc") is None
    await cache.put("abc", '{"type": "chat_daily"}', ttl_s=120)
    assert await cache.get("abc") == '{"type": "chat_daily"}'
    ttl_ms = await redis.pttl(KEY_PREFIX + "abc")
    assert 110_000 < ttl_ms <= 120_000


async def test_redis_errors_are_misses() -> None:
    dead: Redis = Redis(port=free_port(), socket_connect_timeout=0.5)
    try:
        cache = RedisCache(dead)
        await cache.put("abc", "v", ttl_s=60)  # must not raise
        assert await cache.get("abc") is None
    finally:
        await dead.aclose()
