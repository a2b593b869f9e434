"""Live events: small notes that something changed, published after the change committed, for the web
console's live pages (bot/console/live.py fans them out over server-sent events).

Events go to one Redis stream (`hub:events`, capped at about `STREAM_MAX` entries) rather than pub/sub: every
web process reads it on its own (several web processes all see every event), and a page that reconnects
with `Last-Event-ID` is sent what it missed from the stream (older than the cap: told to re-fetch).

An event only says what changed (`kind`, ids, an action); pages re-read the database for what to show, so
a lost or duplicated event costs a refresh at worst. Publishing never fails the caller: with Redis down
the change stands and the pages catch up on their next refresh.
"""

from __future__ import annotations

import asyncio
import json
from typing import Final

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)
STREAM: Final = "hub:events"
STREAM_MAX: Final = 10_000
PUBLISH_TIMEOUT_S: Final = 1.0

Scalar = str | int | float | bool | None


async def publish(redis: Redis, kind: str, **data: Scalar) -> str | None:
    """Append an event; returns its stream id (None if Redis could not take it)."""
    body = json.dumps({"kind": kind, **data}, ensure_ascii=False, separators=(",", ":"))
    try:
        event_id = await asyncio.wait_for(
            redis.xadd(STREAM, {"e": body}, maxlen=STREAM_MAX, approximate=True), PUBLISH_TIMEOUT_S
        )
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("live event not published", kind=kind, error=str(exc))
        return None
    return event_id.decode() if isinstance(event_id, bytes) else str(event_id)


async def alert_changed(redis: Redis, alert_id: int, action: str, *, conversation_id: int | None = None) -> str | None:
    """An alert was opened, recurred, escalated or closed (committed). Returns the event's id."""
    return await publish(redis, "alert", alert_id=alert_id, action=action, conversation_id=conversation_id)


async def task_changed(redis: Redis, task_id: int, action: str, *, conversation_id: int | None = None) -> None:
    """An after-sales task was created or changed state (committed)."""
    await publish(redis, "task", task_id=task_id, action=action, conversation_id=conversation_id)


async def conversation_processed(redis: Redis, conversation_id: int, processed: int) -> None:
    """The worker committed the processing of `processed` messages of a conversation: its messages have
    their types, and any alert or task they opened or closed is stored."""
    if processed > 0:
        await publish(redis, "conversation", conversation_id=conversation_id, processed=processed)
