"""`GET /events`: the live events (bot/events.py) as server-sent events to the console's pages.

Each web process runs one reader of the Redis stream (started with the first page that listens) and fans
every event out to its open pages, so several web processes each serve their own pages all events. Each
SSE message carries the stream id as its `id`: a browser that reconnects sends it back as `Last-Event-ID`
and is first sent what it missed from the stream; when that is no longer there (trimmed, or Redis was
flushed) it gets a `resync` event and the page re-fetches what it shows (static/console.js).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any, Final

import structlog
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.console.common import page
from bot.events import STREAM
from bot.keys import SETTINGS

log = structlog.get_logger(__name__)
# How long one XREAD waits for news. Short: `hub serve` does not begin its shutdown while a read is blocked
# (measured: SIGTERM with an open page took the whole block, 5 s at 5000 ms); one round trip a second when idle.
BLOCK_MS: Final = 1000
CATCH_UP_MAX: Final = 500
QUEUE_MAX: Final = 200  # a page this far behind is told to re-fetch instead
RETRY_S: Final = 2.0
PING_S: Final = 15.0
_ID: Final = re.compile(r"^\d{1,20}-\d{1,20}$")

Event = tuple[str, str]  # (stream id, JSON body)
RESYNC: Final[Event] = ("", "resync")
CLOSE: Final[Event] = ("", "close")


class EventFeed:
    """This process's reader of the event stream and the queues of its listening pages."""

    def __init__(self, redis_url: str) -> None:
        self._redis: Redis = Redis.from_url(redis_url, socket_connect_timeout=1.0, socket_timeout=BLOCK_MS / 1000 + 5)
        self._queues: set[asyncio.Queue[Event]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def subscribe(self, last_id: str | None) -> tuple[asyncio.Queue[Event], list[Event]]:
        """A queue of what comes next, and (with the id a page saw last) what it missed before now."""
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_MAX)
        self._queues.add(queue)
        if self._reader is None:  # from what the stream holds now, fixed before anyone is told they listen
            self._reader = asyncio.get_running_loop().create_task(self._read(await self._end()), name="console-events")
        missed: list[Event] = []
        if last_id:
            missed = await self._since(last_id)
        return queue, missed

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._queues.discard(queue)

    async def _since(self, last_id: str) -> list[Event]:
        if not _ID.match(last_id):
            return [RESYNC]
        try:
            first = await self._redis.xrange(STREAM, count=1)
            if not first or _key(first[0][0]) > _key(last_id):
                return [RESYNC]  # the stream no longer holds where the page stopped
            rows = await self._redis.xrange(STREAM, min=f"({last_id}", count=CATCH_UP_MAX + 1)
        except (RedisError, OSError):
            return [RESYNC]
        if len(rows) > CATCH_UP_MAX:
            return [RESYNC]
        return [(_text(i), _text(fields[b"e"])) for i, fields in rows if b"e" in fields]

    async def _end(self) -> str:
        """The id of the stream's newest event ("0-0": none; "$": Redis did not answer)."""
        try:
            newest = await self._redis.xrevrange(STREAM, count=1)
        except (RedisError, OSError):
            return "$"
        return _text(newest[0][0]) if newest else "0-0"

    async def _read(self, last: str) -> None:
        while not self._closing:
            try:
                if last == "$":
                    last = await self._end()
                found = await self._redis.xread({STREAM: last}, block=BLOCK_MS, count=100)
            except (RedisError, OSError) as exc:
                log.warning("live events: stream not readable; retrying", error=str(exc))
                await asyncio.sleep(RETRY_S)
                continue
            for _stream, rows in found or []:
                for event_id, fields in rows:
                    last = _text(event_id)
                    if b"e" in fields:
                        self._fan_out((last, _text(fields[b"e"])))

    def _fan_out(self, event: Event) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stalled page: drop what it has not read, tell it to re-fetch
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)

    async def close(self) -> None:
        """End every page's stream (an open SSE response would hold shutdown for its whole timeout)."""
        self._closing = True
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(CLOSE)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._redis.aclose()


FEED: Final = web.AppKey("console_event_feed", EventFeed)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _key(event_id: Any) -> tuple[int, int]:
    ms, _, seq = _text(event_id).partition("-")
    return int(ms), int(seq or 0)


async def feed_ctx(app: web.Application) -> AsyncIterator[None]:
    app[FEED] = EventFeed(app[SETTINGS].redis.url)
    yield
    await app[FEED].close()


async def close_streams(app: web.Application) -> None:
    """on_shutdown: before the server waits for open requests."""
    if FEED in app:
        await app[FEED].close()


routes = web.RouteTableDef()


@routes.get("/events", name="console.events")
@page("staff")
async def events(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    queue, missed = await feed.subscribe(request.headers.get("Last-Event-ID"))
    response = EventSourceResponse()
    try:
        async with sse_response(request, ping_interval=PING_S) as response:
            await response.send("hello", event="hello", retry=2000)
            for event_id, body in missed:
                await _send(response, event_id, body)
            while True:
                event_id, body = await queue.get()
                if body == "close":
                    break
                await _send(response, event_id, body)
    except (asyncio.CancelledError, ConnectionResetError):
        # The page went away (aiohttp cancels the handler of a closed connection): the normal end of a stream,
        # not a failure (the access log would otherwise record it as a 500).
        if not response.prepared:
            raise
    finally:
        feed.unsubscribe(queue)
    return response


async def _send(response: EventSourceResponse, event_id: str, body: str) -> None:
    if body == "resync":
        await response.send("{}", event="resync")
        return
    try:
        kind = str(json.loads(body).get("kind", "change"))
    except ValueError:
        return
    await response.send(body, id=event_id, event=kind if kind.isidentifier() else "change")
