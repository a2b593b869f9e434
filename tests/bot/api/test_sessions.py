from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.api.sessions import parse_session_id, split_sessions

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@dataclass
class Msg:
    id: int
    received_at: datetime


def test_split_on_gaps() -> None:
    minutes = [0, 5, 20, 80, 85, 200]
    msgs = [Msg(i + 1, T0 + timedelta(minutes=m)) for i, m in enumerate(minutes)]
    spans = split_sessions(9, msgs, timedelta(minutes=30))
    assert [(s.first_id, s.last_id, s.count) for s in spans] == [(1, 3, 3), (4, 5, 2), (6, 6, 1)]
    assert spans[1].session_id == "9-4"


def test_no_messages_no_sessions() -> None:
    assert split_sessions(1, [], timedelta(minutes=30)) == []


def test_parse_session_id() -> None:
    assert parse_session_id("12-345") == (12, 345)
    assert parse_session_id("12") is None
    assert parse_session_id("a-1") is None
