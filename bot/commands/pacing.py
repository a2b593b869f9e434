"""Risk control for outgoing messages. Pure: every function takes `now` and returns a decision.

A robot is a real WeCom account typing on a real phone; WeCom flags accounts that send like machines.
So one robot sends at most one message per `min_gap_s` (+ jitter), at most `per_minute` a minute; one
group gets at most `group_replies_per_minute` of our messages; long texts are split at natural breaks;
and no text may give the robot away as an AI.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.settings import PacingSettings

MINUTE: Final = timedelta(minutes=1)
# Where a long text may be cut, best first: paragraph, line, sentence end, clause, anywhere.
_BREAKS: Final = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[。！？!?…]"), re.compile(r"[，,；;、 ]"))


class OutgoingRefused(Exception):
    """The message may not be sent as asked; the text says why (shown to API callers)."""

    def __init__(self, reason: str, error: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.error = error
        self.retry_after_s = retry_after_s


def check_text(text: str, banned_phrases: Sequence[str]) -> None:
    """Refuse empty text and text containing a banned phrase (case-insensitive)."""
    if not text.strip():
        raise OutgoingRefused("the text is empty", "empty_text")
    lowered = text.lower()
    for phrase in banned_phrases:
        if phrase.lower() in lowered:
            raise OutgoingRefused(f"the text contains the banned phrase {phrase!r}", "banned_phrase")


def split_text(text: str, max_chars: int) -> list[str]:
    """Cut `text` into parts of at most `max_chars`, at the best natural break in each window."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > max_chars:
        window = rest[: max_chars + 1]
        cut = 0
        for pattern in _BREAKS:
            ends = [m.end() for m in pattern.finditer(window) if max_chars // 3 <= m.end() <= max_chars]
            if ends:
                cut = ends[-1]
                break
        cut = cut or max_chars
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


@dataclass(frozen=True)
class RobotSends:
    """What a robot has sent recently (from the commands table)."""

    last_command_id: int | None
    last_sent_at: datetime | None
    sent_last_minute: Sequence[datetime]  # send times within the minute before now, any order


def jitter_fraction(last_command_id: int | None) -> float:
    """A fraction in [0, 1) fixed per gap: re-evaluating the same gap must give the same answer."""
    return random.Random(last_command_id or 0).random()  # noqa: S311 - pacing, not security


def next_send_at(sends: RobotSends, now: datetime, pacing: PacingSettings) -> datetime:
    """The earliest time the robot may send its next request."""
    earliest = now
    if sends.last_sent_at is not None:
        gap = pacing.min_gap_s + pacing.jitter_s * jitter_fraction(sends.last_command_id)
        earliest = max(earliest, sends.last_sent_at + timedelta(seconds=gap))
    recent = sorted(t for t in sends.sent_last_minute if t > now - MINUTE)
    if len(recent) >= pacing.per_minute:
        # The oldest send that keeps the minute full must leave the window first.
        earliest = max(earliest, recent[len(recent) - pacing.per_minute] + MINUTE)
    return earliest


def group_cap_wait(sent_to_group: Sequence[datetime], now: datetime, cap: int) -> float | None:
    """None if the group can take another message now; else the seconds until it can."""
    recent = sorted(t for t in sent_to_group if t > now - MINUTE)
    if len(recent) < cap:
        return None
    return (recent[len(recent) - cap] + MINUTE - now).total_seconds()
