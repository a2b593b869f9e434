"""Failed logins counted per name and per IP in Redis, so every web process sees the same counts.

Each key is a sorted set of failure times (the injected clock's seconds). Past `limit` failures within
`window_s`, attempts are refused until enough of them leave the window; a refused attempt is not itself
counted (else a steady trickle would lock an account out for good). Only the newest `limit` failures are
kept, so a flood costs Redis nothing more.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

KEY_PREFIX: Final = "hub:login:failures:"


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int


def name_key(name: str) -> str:
    # Hashed: a name is whatever the login form was sent (any length, any characters).
    return KEY_PREFIX + "name:" + hashlib.sha256(name.strip().casefold().encode()).hexdigest()[:32]


def ip_key(ip: str) -> str:
    return KEY_PREFIX + "ip:" + hashlib.sha256(ip.encode()).hexdigest()[:32]


async def retry_after_s(redis: Redis, limits: tuple[Limit, ...], now_s: float, window_s: float) -> float | None:
    """Seconds until an attempt is allowed again, or None when none of the limits is reached."""
    pipe = redis.pipeline(transaction=False)
    for limit in limits:
        pipe.zremrangebyscore(limit.key, "-inf", now_s - window_s)
        pipe.zrange(limit.key, -limit.limit, -limit.limit, withscores=True)
    results = await pipe.execute()
    waits = []
    for found in results[1::2]:
        if found:  # the limit-th newest failure is still in the window
            _member, at_s = found[0]
            waits.append(float(at_s) + window_s - now_s)
    return max(waits) if waits else None


async def record_failure(redis: Redis, limits: tuple[Limit, ...], now_s: float, window_s: float) -> None:
    pipe = redis.pipeline(transaction=False)
    for limit in limits:
        pipe.zadd(limit.key, {uuid.uuid4().hex: now_s})
        pipe.zremrangebyrank(limit.key, 0, -(limit.limit + 1))
        pipe.expire(limit.key, math.ceil(window_s))
    await pipe.execute()


async def forget(redis: Redis, key: str) -> None:
    await redis.delete(key)
