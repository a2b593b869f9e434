"""Deciding whether a callback is a new message, another robot's copy, or a re-delivery. Pure.

Rules (WorkTool re-delivers callbacks, sometimes first without and then with a messageId; every robot in a
group reports each message):
1. A known messageId is the message it names.
2. Else, among recent messages of the same conversation, sender and text (the window): the oldest one this
   robot has not reported yet is the same message seen by another robot.
3. Else the newest one this robot reported where either copy lacks a messageId is a re-delivery — only
   for a message with content (text or file data): an image reported without its data has nothing to
   recognise it by, and three screenshots within a second are three messages, not one and two repeats.
4. Else it is new (the same robot with two different messageIds means the user really said it twice).

The content includes the file data (`Incoming.file_key`), so messages without text fold together only
when their content is identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.ingest.incoming import Incoming


class Verdict(StrEnum):
    NEW = "new"  # store a new message
    COPY = "copy"  # another robot's report of a stored message: add a sighting
    REDELIVERY = "redelivery"  # this robot reported it before: nothing new (maybe its messageId)


@dataclass(slots=True)
class Candidate:
    """A stored (or just accepted) message that a callback may repeat."""

    message_id: int
    content_hash: str
    received_at: datetime
    sightings: dict[str, str | None] = field(default_factory=dict)  # robot id -> external id
    first_robot: str = ""  # whose report created the message (its report lives on the message row)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    message_id: int | None = None
    attach_external_id: bool = False  # a re-delivery that now carries the messageId the first lacked


def decide(
    incoming: Incoming,
    by_external_id: Candidate | None,
    same_content: list[Candidate],
    window: timedelta,
) -> Decision:
    """`same_content`: candidates with incoming's content hash, any age, in arrival order."""
    robot = incoming.robot_id
    if by_external_id is not None:
        if robot in by_external_id.sightings:
            return Decision(Verdict.REDELIVERY, by_external_id.message_id)
        return Decision(Verdict.COPY, by_external_id.message_id)
    since = incoming.received_at - window
    recent = [c for c in same_content if c.received_at >= since and c.content_hash == incoming.content_hash]
    for candidate in recent:
        if robot not in candidate.sightings:
            return Decision(Verdict.COPY, candidate.message_id)
    if not incoming.has_content:
        return Decision(Verdict.NEW)
    for candidate in reversed(recent):
        seen_id = candidate.sightings[robot]
        if incoming.external_id is None or seen_id is None:
            attach = incoming.external_id is not None and seen_id is None
            return Decision(Verdict.REDELIVERY, candidate.message_id, attach_external_id=attach)
    return Decision(Verdict.NEW)
