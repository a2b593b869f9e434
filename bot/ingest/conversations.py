"""Which conversation a callback belongs to, cached per ingest process. Pure bookkeeping, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.ingest.incoming import ConversationRef, Incoming

Key = tuple[str, str]  # (kind, key)


@dataclass(frozen=True, slots=True)
class Rename:
    conversation_id: int
    name: str
    at: datetime


class ConversationCache:
    """Ids and last-seen names of conversations whose rows are committed.

    Cleared when a batch rolls back (ids created inside it are void).
    """

    def __init__(self) -> None:
        self.ids: dict[Key, int] = {}
        self.names: dict[int, str] = {}

    def clear(self) -> None:
        self.ids.clear()
        self.names.clear()

    def missing(self, batch: Sequence[Incoming]) -> list[tuple[ConversationRef, datetime]]:
        """Conversations of the batch not cached yet, each with its first callback's time."""
        seen: dict[Key, tuple[ConversationRef, datetime]] = {}
        for incoming in batch:
            ref = incoming.conversation
            key = (ref.kind, ref.key)
            if key not in self.ids and key not in seen:
                seen[key] = (ref, incoming.received_at)
        return list(seen.values())

    def remember(self, ref: ConversationRef, conversation_id: int, name: str) -> None:
        self.ids[(ref.kind, ref.key)] = conversation_id
        self.names[conversation_id] = name

    def renames(self, batch: Sequence[Incoming]) -> list[Rename]:
        """Names that differ from the last seen one (a group keyed by its remark was renamed)."""
        found: list[Rename] = []
        for incoming in batch:
            ref = incoming.conversation
            conv_id = self.ids[(ref.kind, ref.key)]
            if ref.name and self.names.get(conv_id) != ref.name:
                self.names[conv_id] = ref.name
                found.append(Rename(conv_id, ref.name, incoming.received_at))
        return found
