"""Sessions: a conversation's messages split wherever it fell silent for longer than the gap. Pure.

A session id is "<conversation id>-<first message id>", stable as long as the messages are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.api.params import parse_id


class Timed(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def received_at(self) -> datetime: ...


@dataclass(frozen=True)
class SessionSpan:
    conversation_id: int
    first_id: int
    last_id: int
    started_at: datetime
    ended_at: datetime
    count: int

    @property
    def session_id(self) -> str:
        return f"{self.conversation_id}-{self.first_id}"


def split_sessions(conversation_id: int, messages: Sequence[Timed], gap: timedelta) -> list[SessionSpan]:
    """`messages` in arrival order; returns the spans oldest first."""
    spans: list[SessionSpan] = []
    start = 0
    for i in range(1, len(messages) + 1):
        if i == len(messages) or messages[i].received_at - messages[i - 1].received_at > gap:
            first, last = messages[start], messages[i - 1]
            spans.append(
                SessionSpan(conversation_id, first.id, last.id, first.received_at, last.received_at, i - start)
            )
            start = i
    return spans


def parse_session_id(value: str) -> tuple[int, int] | None:
    """Both ids of "<conversation id>-<first message id>", or None unless each is a row id (1..MAX_ID)."""
    conv, sep, first = value.partition("-")
    conv_id, first_id = parse_id(conv), parse_id(first)
    if not sep or conv_id is None or first_id is None:
        return None
    return conv_id, first_id
