"""The ingest process's mirror of recent messages, so dedup needs no index lookups per batch.

Looking candidates up in the database cost two random-key indexes (content hash, external id) whose
inserts dirtied most of the pages each commit wrote. The mirror holds what dedup can match: messages
inside the dedup window by content, and external ids for a longer horizon, bounded in size. It stays
exact with other ingest processes: each batch, under the write lock, first reads the rows others
committed since (by primary key, `id > last seen`), and a rolled-back batch resets it to the database.

Storage is flat dicts of strings, numbers and tuples, which the cyclic garbage collector skips: the
first version kept an object per message, and full collections over them paused the event loop for
50-150 ms under load (found by the ingest benchmark's ack p99). `Candidate` objects are made per batch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.ingest.dedup import Candidate
from bot.ingest.incoming import Incoming

Sightings = tuple[tuple[str, str | None], ...]  # ((robot id, external id), ...)


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    content_hash: str
    received_at: datetime
    robot_id: str
    external_id: str | None


@dataclass(frozen=True, slots=True)
class SightingRow:
    id: int
    message_id: int
    robot_id: str
    external_id: str | None


class RecentMessages:
    def __init__(self, window: timedelta, external_horizon: timedelta, max_messages: int = 500_000) -> None:
        self.window = window
        self.horizon = max(window, external_horizon)
        self.max_messages = max_messages
        self.reset()

    def reset(self) -> None:
        self._time: dict[int, float] = {}  # message id -> received_at (epoch seconds)
        self._hash: dict[int, str] = {}  # message id -> content hash
        self._seen: dict[int, Sightings] = {}  # message id -> who reported it, the first reporter first
        self._by_hash: dict[str, tuple[int, ...]] = {}  # content hash -> message ids, oldest first
        self._by_ext: dict[str, int] = {}  # external id -> message id
        self._order: deque[int] = deque()  # message ids by arrival, for eviction
        self.last_message_id = 0
        self.last_sighting_id = 0
        self.loaded = False

    def __len__(self) -> int:
        return len(self._time)

    def load(self, messages: Iterable[MessageRow], sightings: Iterable[SightingRow]) -> None:
        """Take rows committed since the last load (ids above the marks), in id order."""
        for row in messages:
            if row.id > self.last_message_id:
                self._add(row.id, row.content_hash, row.received_at.timestamp())
                self._add_sighting(row.id, row.robot_id, row.external_id)
                self.last_message_id = row.id
        for sighting in sightings:
            if sighting.id > self.last_sighting_id:
                self.last_sighting_id = sighting.id
                self._add_sighting(sighting.message_id, sighting.robot_id, sighting.external_id)
        self.loaded = True

    def candidates(self, batch: Sequence[Incoming]) -> dict[int, Candidate]:
        """The mirrored messages this batch may repeat, as fresh objects plan_batch may change."""
        ids: set[int] = set()
        for incoming in batch:
            ids.update(self._by_hash.get(incoming.content_hash, ()))
            if incoming.external_id and (known := self._by_ext.get(incoming.external_id)) is not None:
                ids.add(known)
        return {mid: self._candidate(mid) for mid in ids if mid in self._time}

    def _candidate(self, mid: int) -> Candidate:
        seen = self._seen[mid]
        at = datetime.fromtimestamp(self._time[mid], UTC)
        return Candidate(mid, self._hash[mid], at, dict(seen), first_robot=seen[0][0] if seen else "")

    def committed(self, candidates: dict[int, Candidate], last_message_id: int, last_sighting_id: int) -> None:
        """After a commit: mirror the batch's messages and reports, move the marks."""
        for message_id in sorted(candidates):
            candidate = candidates[message_id]
            if message_id in self._time:
                self._merge(message_id, candidate)
            elif message_id > self.last_message_id:  # below it: already evicted, too old to matter
                self._add(message_id, candidate.content_hash, candidate.received_at.timestamp())
                self._merge(message_id, candidate)
        self.last_message_id = max(self.last_message_id, last_message_id)
        self.last_sighting_id = max(self.last_sighting_id, last_sighting_id)

    def evict(self, now: datetime) -> None:
        """Forget what can no longer match: dedup checks the window itself, this bounds memory."""
        horizon_start = (now - self.horizon).timestamp()
        while self._order and (
            len(self._order) > self.max_messages or self._time.get(self._order[0], horizon_start) < horizon_start
        ):
            self._drop(self._order.popleft())

    def _add(self, message_id: int, content_hash: str, at: float) -> None:
        self._time[message_id] = at
        self._hash[message_id] = content_hash
        self._seen.setdefault(message_id, ())
        self._by_hash[content_hash] = (*self._by_hash.get(content_hash, ()), message_id)
        self._order.append(message_id)

    def _merge(self, message_id: int, candidate: Candidate) -> None:
        sightings = candidate.sightings
        if not self._seen[message_id] and next(iter(sightings), None) == candidate.first_robot:
            # A message this batch created (the common case): its reports in order, the creator first.
            self._seen[message_id] = tuple(sightings.items())
            for ext in sightings.values():
                if ext:
                    self._by_ext.setdefault(ext, message_id)
            return
        if candidate.first_robot:
            self._add_sighting(message_id, candidate.first_robot, sightings.get(candidate.first_robot))
        for robot, ext in sightings.items():
            self._add_sighting(message_id, robot, ext)

    def _add_sighting(self, message_id: int, robot: str, ext: str | None) -> None:
        seen = self._seen.get(message_id)
        if seen is None:
            return  # a report of a message older than the mirror
        if any(pair[0] == robot for pair in seen):  # keep the first reporter first
            self._seen[message_id] = tuple((r, ext if r == robot and ext is not None else e) for r, e in seen)
        else:
            self._seen[message_id] = (*seen, (robot, ext))
        if ext:
            self._by_ext.setdefault(ext, message_id)

    def _drop(self, message_id: int) -> None:
        self._time.pop(message_id, None)
        content_hash = self._hash.pop(message_id, None)
        for _robot, ext in self._seen.pop(message_id, ()):
            if ext and self._by_ext.get(ext) == message_id:
                del self._by_ext[ext]
        if content_hash is not None:
            rest = tuple(m for m in self._by_hash.get(content_hash, ()) if m != message_id)
            if rest:
                self._by_hash[content_hash] = rest
            else:
                self._by_hash.pop(content_hash, None)
