"""Working through a queue under a Redis lock with a TTL: one worker at a time, none lost.

Used for a conversation's pending messages and a robot's command queue. A killed holder's lock lapses
after its TTL; a wake-up that finds the lock held returns at once, so the holder re-checks for work after
letting go (else that wake-up would be lost).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum, auto

import structlog
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

log = structlog.get_logger(__name__)


class Turn(Enum):
    MORE = auto()  # go on (the lock is renewed first)
    IDLE = auto()  # nothing left that this turn saw: stop, but re-check after letting go
    PAUSE = auto()  # stop for now (blocked, or a job is scheduled): no re-check


async def work_exclusively(
    redis: Redis,
    key: str,
    ttl_s: float,
    turn: Callable[[Lock], Awaitable[Turn]],
    pending: Callable[[], Awaitable[bool]],
) -> None:
    """Run `turn` under the lock until it says stop; then, unless paused, start over while `pending()`."""
    while True:
        lock = redis.lock(key, timeout=ttl_s, blocking=False)
        if not await lock.acquire():
            return  # the holder re-checks for work after it lets go
        try:
            while (outcome := await turn(lock)) is Turn.MORE:
                await lock.reacquire()
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("lock lapsed while working", lock=key)
        if outcome is Turn.PAUSE or not await pending():
            return
