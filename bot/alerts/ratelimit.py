"""Per-channel, per-target send limits (WeCom app 30/min per member, group webhook 20/min, one call per
minute per callee), shared by every process through Redis: a sliding-window log in one Lua script.

Non-blocking: `wait_s` admits the send (0) or says how long until a slot frees. Time is the caller's
clock (the business clock, injectable; processes on one host agree on it). Without Redis each process
keeps its own window (a restart may then exceed a limit once; the provider refuses, we retry).
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Mapping

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.clock import Clock
from bot.worktool.ratelimit import SLIDING_WINDOW

log = structlog.get_logger(__name__)


class SendLimits:
    def __init__(self, redis: Redis, limits: Mapping[str, tuple[int, float]], clock: Clock) -> None:
        """`limits`: channel -> (sends, per seconds) for each target; channels not listed are unlimited."""
        self._redis = redis
        self._clock = clock
        self._limits = dict(limits)
        self._script = redis.register_script(SLIDING_WINDOW)
        self._local: defaultdict[str, deque[float]] = defaultdict(deque)

    async def wait_s(self, channel: str, target: str) -> float:
        limit = self._limits.get(channel)
        if limit is None:
            return 0.0
        sends, window_s = limit
        key = f"hub:alerts:rate:{channel}:{target}"
        now = self._clock.now().timestamp()
        try:
            args: list[str | int] = [sends, int(window_s * 1000), uuid.uuid4().hex, int(now * 1000)]
            waited = await self._script(keys=[key], args=args)
            return float(waited) / 1000
        except (RedisError, OSError) as exc:
            log.warning("send limit: redis unavailable, counting locally", error=str(exc))
        window = self._local[key]
        while window and window[0] <= now - window_s:
            window.popleft()
        if len(window) < sends:
            window.append(now)
            return 0.0
        return window[0] + window_s - now
