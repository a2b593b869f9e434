"""WorkTool's 60 requests/minute per source IP, shared by every process on this host through Redis.

A sliding-window log in one Lua script (atomic; Redis' own clock, so processes need not agree on time).
Excess requests are dropped by WorkTool and repeat offenders get their IP blocked, so we wait instead.
If Redis is down, each process falls back to a local window with a share of the budget.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from typing import Final

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

KEY: Final = "hub:worktool:requests"
# Our window is a little longer than WorkTool's: a request admitted at the window's edge may reach
# WorkTool later than its twin a window earlier did.
EDGE_MARGIN_MS: Final = 500
LOCAL_SHARE: Final = 3  # without Redis: server, worker and one spare process each get a third

# A sliding-window log: admit (0) or the milliseconds until a slot frees. ARGV: limit, window ms, a unique
# member, and optionally "now" in ms (the caller's clock; without it Redis' own, which every process shares).
SLIDING_WINDOW: Final = """
local key, limit, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local now
if ARGV[4] then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RateLimited(Exception):
    """No request slot within the caller's wait limit (nothing was sent)."""


class RequestBudget:
    def __init__(self, redis: Redis, requests: int, window_s: float) -> None:
        self._redis = redis
        self._requests = requests
        self._window_ms = int(window_s * 1000) + EDGE_MARGIN_MS
        self._script = redis.register_script(SLIDING_WINDOW)
        self._local: deque[float] = deque()
        self._redis_ok = True

    async def acquire(self, max_wait_s: float) -> None:
        """Take one request slot, waiting up to `max_wait_s` for one; RateLimited if none came."""
        deadline = time.monotonic() + max_wait_s
        while True:
            wait_ms = await self._try()
            if wait_ms == 0:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0 or wait_ms / 1000 > remaining:
                raise RateLimited(f"WorkTool request budget ({self._requests}/window) used up for {wait_ms} ms more")
            await asyncio.sleep(wait_ms / 1000)

    async def _try(self) -> int:
        try:
            result = await self._script(keys=[KEY], args=[self._requests, self._window_ms, uuid.uuid4().hex])
        except (RedisError, OSError) as exc:
            if self._redis_ok:
                log.warning("redis unavailable: WorkTool request budget is now per process", error=str(exc))
            self._redis_ok = False
            return self._try_local()
        if not self._redis_ok:
            log.info("redis is back: WorkTool request budget shared again")
            self._redis_ok = True
        return int(result)

    def _try_local(self) -> int:
        now = time.monotonic()
        window_s = self._window_ms / 1000
        while self._local and self._local[0] <= now - window_s:
            self._local.popleft()
        if len(self._local) < max(1, self._requests // LOCAL_SHARE):
            self._local.append(now)
            return 0
        return max(1, int((self._local[0] + window_s - now) * 1000))
