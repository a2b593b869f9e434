"""Which notification targets have rows falling due, and from when: a sorted set in Redis.

A delivery job takes the targets due by now and reads only their rows. Finding them in the database
instead meant grouping every pending row, and in a storm the rows held by send limits pile up (72,000
after a minute of 167 steps/s: 150 ms per wake-up). The set is an index, not the truth: a target lost
with Redis is found again by the sweeper, which groups the overdue rows every few seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from redis.asyncio import Redis

KEY: Final = "hub:alerts:due-targets"  # member "channel\x1ftarget", score: due, epoch ms
SEP: Final = "\x1f"
# Keep the earliest due time of a member (ZADD LT needs Redis 6.2; the hub supports 6.0).
OFFER: Final = """
for i = 1, #ARGV, 2 do
  local old = redis.call('ZSCORE', KEYS[1], ARGV[i + 1])
  if not old or tonumber(old) > tonumber(ARGV[i]) then
    redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
"""
# Take (read and remove) up to ARGV[2] members due by ARGV[1], earliest first.
TAKE: Final = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
end
return due
"""
MAX_TAKE: Final = 1000  # members per call (Lua's unpack has a stack limit)


class DueTargets:
    def __init__(self, redis: Redis) -> None:
        self._offer = redis.register_script(OFFER)
        self._take = redis.register_script(TAKE)

    async def offer(self, deliveries: Mapping[tuple[str, str], datetime]) -> None:
        """Each (channel, target) has rows due at the given time (an earlier time already offered stays)."""
        args: list[str | int] = []
        for (channel, target), due in deliveries.items():
            args += [int(due.timestamp() * 1000), f"{channel}{SEP}{target}"]
        if args:
            await self._offer(keys=[KEY], args=args)

    async def take(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """The targets due by `now`, at most `limit` (removed: the caller delivers or offers them again)."""
        taken = await self._take(keys=[KEY], args=[int(now.timestamp() * 1000), min(limit, MAX_TAKE)])
        targets = []
        for member in taken:
            text = member.decode() if isinstance(member, bytes) else str(member)
            channel, _, target = text.partition(SEP)
            targets.append((channel, target))
        return targets
