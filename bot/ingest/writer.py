"""Group commit: callbacks wait here until the batch holding them is committed, then get their 200.

One writer task per process drains a queue: everything that arrived while the previous batch was being
written goes into the next transaction. A callback is answered only after its batch is committed, so an
acknowledged message is durable; the dedup decision for a batch is taken inside the transaction that
stores it (on PostgreSQL under an advisory lock, so several ingest processes stay exact).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from bot.ingest.dedup import Candidate, Verdict, decide
from bot.ingest.incoming import ConversationRef, Incoming
from bot.ingest.store import IngestStore, NewMessage
from models.conversations import Conversation, ConversationAlias, ConversationName

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Stored:
    """What happened to one callback."""

    message_id: int
    conversation_id: int
    verdict: Verdict


class IngestUnavailable(Exception):
    """The database could not take the batch within the retry budget."""


OnCommitted = Callable[[dict[int, int]], Awaitable[None]]  # {conversation id: newest new message id}


@dataclass(slots=True)
class _Item:
    incoming: Incoming
    future: asyncio.Future[Stored]


class IngestWriter:
    """Batches callbacks into transactions. `start()` in the owning task, `stop()` drains and ends."""

    def __init__(
        self,
        *,
        dialect: str,
        dedup_window: timedelta,
        max_batch: int,
        on_committed: OnCommitted | None = None,
        retry_budget_s: float = 2.0,
    ) -> None:
        self._dialect = dialect
        self._window = dedup_window
        self._max_batch = max_batch
        self._on_committed = on_committed
        self._retry_budget_s = retry_budget_s
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._conversations: dict[tuple[str, str], int] = {}  # (kind, key) -> id, for committed rows
        self._names: dict[int, str] = {}  # conversation id -> last name seen
        self.batches = 0
        self.stored = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ingest-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def submit(self, incoming: Incoming) -> Stored:
        if self._task is None or self._task.done():
            raise RuntimeError("the ingest writer is not running")
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(incoming, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._write(batch)

    async def _write(self, batch: list[_Item]) -> None:
        started = time.perf_counter()
        incoming = [item.incoming for item in batch]
        attempt = 0
        while True:
            attempt += 1
            try:
                results, fresh = await self._commit(incoming)
                break
            except Exception as exc:  # the whole batch rolled back: nothing of it is half-stored
                self._conversations.clear()  # ids created in the rolled-back transaction are void
                self._names.clear()
                # WorkTool never re-sends a message callback: ride out a short database outage (or a
                # lost race with another ingest process) inside the platform's 3 s answer limit.
                waited = time.perf_counter() - started
                if waited + self._retry_delay(attempt) > self._retry_budget_s:
                    log.exception("ingest batch failed; callers get 503", size=len(batch), attempts=attempt)
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(IngestUnavailable(str(exc)))
                    return
                log.warning("ingest batch failed; retrying", size=len(batch), attempt=attempt, error=str(exc))
                await asyncio.sleep(self._retry_delay(attempt))
        self.batches += 1
        self.stored += len(batch)
        for item, result in zip(batch, results, strict=True):
            if not item.future.done():  # the caller may have gone away (client disconnect)
                item.future.set_result(result)
        log.debug(
            "ingest batch committed",
            size=len(batch),
            new=len(fresh),
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        if fresh and self._on_committed is not None:
            try:
                await self._on_committed(fresh)
            except Exception:  # enqueueing is best effort: the sweeper finds pending messages
                log.warning("enqueue after commit failed; the sweeper will pick the messages up", exc_info=True)

    @staticmethod
    def _retry_delay(attempt: int) -> float:
        return float(min(0.05 * 2 ** (attempt - 1), 0.5))

    async def _commit(self, batch: Sequence[Incoming]) -> tuple[list[Stored], dict[int, int]]:
        async with in_transaction() as conn:
            store = IngestStore(self._dialect, conn)
            await store.lock()
            conv_ids = await self._resolve_conversations(conn, batch)
            by_id, by_ext, by_hash = await self._load_candidates(store, batch)
            ids = iter(await store.reserve_ids(len(batch)))
            new: list[NewMessage] = []
            sightings: list[tuple[int, Incoming]] = []
            attach: list[tuple[int, str, str]] = []
            results: list[Stored] = []
            fresh: dict[int, int] = {}
            for incoming in batch:
                conv_id = conv_ids[(incoming.conversation.kind, incoming.conversation.key)]
                ext = by_ext.get(incoming.external_id) if incoming.external_id else None
                decision = decide(incoming, ext, by_hash[incoming.content_hash], self._window)
                if decision.verdict is Verdict.NEW:
                    message_id = next(ids)
                    new.append(NewMessage(message_id, conv_id, incoming))
                    candidate = Candidate(message_id, incoming.content_hash, incoming.received_at)
                    by_id[message_id] = candidate
                    by_hash[incoming.content_hash].append(candidate)
                    fresh[conv_id] = message_id
                else:
                    assert decision.message_id is not None
                    message_id = decision.message_id
                    candidate = by_id[message_id]
                if decision.verdict is not Verdict.REDELIVERY:
                    sightings.append((message_id, incoming))
                    candidate.sightings[incoming.robot_id] = incoming.external_id
                elif decision.attach_external_id and incoming.external_id:
                    attach.append((message_id, incoming.robot_id, incoming.external_id))
                    candidate.sightings[incoming.robot_id] = incoming.external_id
                if incoming.external_id:
                    by_ext[incoming.external_id] = candidate
                results.append(Stored(message_id, conv_id, decision.verdict))
            await store.insert_messages(new)
            await store.insert_sightings(sightings)
            await store.attach_external_ids(attach)
            await store.touch_conversations(sorted(fresh), max(i.received_at for i in batch))
        return results, fresh

    async def _load_candidates(
        self, store: IngestStore, batch: Sequence[Incoming]
    ) -> tuple[dict[int, Candidate], dict[str, Candidate], defaultdict[str, list[Candidate]]]:
        """Stored messages this batch may repeat: by message id, by external id, by content hash."""
        hashes = sorted({i.content_hash for i in batch})
        ext_ids = sorted({i.external_id for i in batch if i.external_id})
        since = min(i.received_at for i in batch) - self._window
        candidates = await store.candidates(hashes, ext_ids, since)
        by_ext: dict[str, Candidate] = {}
        by_hash: defaultdict[str, list[Candidate]] = defaultdict(list)
        for candidate in sorted(candidates.values(), key=lambda c: c.message_id):
            by_hash[candidate.content_hash].append(candidate)
            for ext in candidate.sightings.values():
                if ext:
                    by_ext[ext] = candidate
        return candidates, by_ext, by_hash

    async def _resolve_conversations(
        self, conn: BaseDBAsyncClient, batch: Sequence[Incoming]
    ) -> dict[tuple[str, str], int]:
        resolved: dict[tuple[str, str], int] = {}
        for incoming in batch:
            ref = incoming.conversation
            key = (ref.kind, ref.key)
            if key in resolved:
                continue
            conv_id = self._conversations.get(key)
            if conv_id is None:
                conv_id = await _find_or_create_conversation(conn, ref, incoming)
                self._conversations[key] = conv_id
            resolved[key] = conv_id
        await self._record_renames(conn, batch, resolved)
        return resolved

    async def _record_renames(
        self, conn: BaseDBAsyncClient, batch: Sequence[Incoming], resolved: dict[tuple[str, str], int]
    ) -> None:
        # A group keyed by its remark keeps its id when its name changes: record the new name.
        names = {(resolved[(i.conversation.kind, i.conversation.key)], i.conversation.name) for i in batch}
        for conv_id, name in names:
            if not name or self._names.get(conv_id) == name:
                continue
            conv = await Conversation.get(id=conv_id, using_db=conn)
            if conv.name != name:
                if not await ConversationName.filter(conversation_id=conv_id, name=name).using_db(conn).exists():
                    await ConversationName.create(
                        using_db=conn, conversation_id=conv_id, name=name, first_seen_at=batch[-1].received_at
                    )
                conv.name = name
                await conv.save(using_db=conn, update_fields=["name"])
                log.info("conversation renamed", conversation_id=conv_id, name=name)
            self._names[conv_id] = name


async def _find_or_create_conversation(conn: BaseDBAsyncClient, ref: ConversationRef, incoming: Incoming) -> int:
    conv = await Conversation.get_or_none(kind=ref.kind, key=ref.key, using_db=conn)
    if conv is not None:
        return int(conv.id)
    alias = await ConversationAlias.get_or_none(kind=ref.kind, key=ref.key, using_db=conn)
    if alias is not None:
        return int(alias.conversation_id)  # type: ignore[attr-defined]
    conv = await Conversation.create(
        using_db=conn,
        kind=ref.kind,
        key=ref.key,
        name=ref.name or ref.key,
        room_type=ref.room_type,
        created_at=incoming.received_at,
    )
    await ConversationName.create(
        using_db=conn, conversation_id=conv.id, name=ref.name or ref.key, first_seen_at=incoming.received_at
    )
    log.info("new conversation", conversation_id=conv.id, kind=ref.kind, key=ref.key)
    return int(conv.id)
