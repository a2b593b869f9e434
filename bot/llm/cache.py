"""The response cache: the same prompt to the same model gets the same answer without spending tokens.

Shared through Redis when there is one (every process benefits); otherwise a bounded in-process LRU
whose entries expire by the injected clock. The cache is an optimisation only: a Redis error is
logged and treated as a miss.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.clock import Clock

if TYPE_CHECKING:  # importing openai costs ~0.4 s of start-up; only an enabled LLM needs it
    from openai.types.chat import ChatCompletionMessageParam

log = structlog.get_logger(__name__)
KEY_PREFIX: Final = "hub:llm:cache:"
MEMORY_MAX_ENTRIES: Final = 10_000


def cache_key(model: str, messages: Sequence[ChatCompletionMessageParam]) -> str:
    """sha256 of the model and the exact prompt; the prompt lists the offered types, so they are in it."""
    blob = json.dumps([model, list(messages)], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, ttl_s: float) -> None: ...


class MemoryCache:
    def __init__(self, clock: Clock, max_entries: int = MEMORY_MAX_ENTRIES) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[datetime, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock.now() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def put(self, key: str, value: str, ttl_s: float) -> None:
        self._entries[key] = (self._clock.now() + timedelta(seconds=ttl_s), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


class RedisCache:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, key: str) -> str | None:
        try:
            raw = await self._redis.get(KEY_PREFIX + key)
        except RedisError as exc:
            log.warning("llm cache read failed; treated as a miss", error=str(exc))
            return None
        if raw is None:
            return None
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)

    async def put(self, key: str, value: str, ttl_s: float) -> None:
        try:
            await self._redis.set(KEY_PREFIX + key, value, px=max(1, int(ttl_s * 1000)))
        except RedisError as exc:
            log.warning("llm cache write failed; not cached", error=str(exc))
