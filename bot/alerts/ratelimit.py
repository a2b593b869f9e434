"""Per-channel, per-target send limits (WeCom app 30/min per member, group webhook 20/min, one call per
minute per callee), shared by every process through Redis: a sliding-window log in one Lua script.

Non-blocking: `wait_s` admits the send (0) or says how long until a slot frees. Time is the caller's
clock (the business clock, injectable; processes on one host agree on it). Without Redis each process
keeps its own window (a restart may then exceed a limit once; the provider refuses, we retry).
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence

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
        return (await self.wait_many([(channel, target)]))[0]

    async def wait_many(self, targets: Sequence[tuple[str, str]]) -> list[float]:
        """`wait_s` for each (channel, target), in one Redis round trip (a pipeline of the script)."""
        waits = [0.0] * len(targets)
        limited = [(n, channel, target) for n, (channel, target) in enumerate(targets) if channel in self._limits]
        if not limited:
            return waits
        now = self._clock.now().timestamp()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for _n, channel, target in limited:
                    sends, window_s = self._limits[channel]
                    args: list[str | int] = [sends, int(window_s * 1000), uuid.uuid4().hex, int(now * 1000)]
                    await self._script(keys=[_key(channel, target)], args=args, client=pipe)
                answers = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("send limit: redis unavailable, counting locally", error=str(exc))
            for n, channel, target in limited:
                waits[n] = self._wait_locally(channel, target, now)
            return waits
        for (n, _channel, _target), waited in zip(limited, answers, strict=True):
            waits[n] = float(waited) / 1000
        return waits

    def _wait_locally(self, channel: str, target: str, now: float) -> float:
        sends, window_s = self._limits[channel]
        window = self._local[_key(channel, target)]
        while window and window[0] <= now - window_s:
            window.popleft()
        if len(window) < sends:
            window.append(now)
            return 0.0
        return window[0] + window_s - now


def _key(channel: str, target: str) -> str:
    return f"hub:alerts:rate:{channel}:{target}"
