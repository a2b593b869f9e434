"""Planning a batch: which callbacks are new messages, copies or re-deliveries, and what to write. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.ingest.dedup import Candidate, Decision, Verdict, decide
from bot.ingest.incoming import Incoming

_NEW = Decision(Verdict.NEW)


class Stored(NamedTuple):
    """What happened to one callback. (NamedTuples: one per callback, cheaper to build than dataclasses.)"""

    message_id: int
    conversation_id: int
    verdict: Verdict


class NewMessage(NamedTuple):
    id: int
    conversation_id: int
    incoming: Incoming


@dataclass
class BatchPlan:
    new: list[NewMessage] = field(default_factory=list)
    sightings: list[tuple[int, Incoming]] = field(default_factory=list)  # (message id, another robot's copy)
    # (message id, robot, external id, on the message row?): a re-delivery brought the id the first lacked
    attach: list[tuple[int, str, str, bool]] = field(default_factory=list)
    results: list[Stored] = field(default_factory=list)
    conversations_with_new: set[int] = field(default_factory=set)  # to enqueue for processing
    # (conversation, robot) -> first time in this batch: which robots can reach which conversations
    presence: dict[tuple[int, str], datetime] = field(default_factory=dict)
    # Messages another robot's copy says were @ its robot: the message is "at me" if any report is (an
    # "@小助手" reaches every robot in the group, but only the @-ed robot's copy has atMe).
    at_me: set[int] = field(default_factory=set)

    def is_at_me(self, message: NewMessage) -> bool:
        return message.incoming.at_me or message.id in self.at_me

    def stored_at_me(self) -> list[int]:
        """Stored messages (not new in this batch) to mark as @ the robot."""
        new = {m.id for m in self.new}
        return sorted(self.at_me - new)

    def new_presence(self, known: set[tuple[int, str]]) -> list[tuple[int, str, datetime]]:
        return [(conv, robot, at) for (conv, robot), at in self.presence.items() if (conv, robot) not in known]


def plan_batch(
    batch: Sequence[Incoming],
    conversation_ids: Mapping[tuple[str, str], int],
    candidates: dict[int, Candidate],
    ids: Iterator[int],
    window: timedelta,
) -> BatchPlan:
    """Decide every callback in arrival order; later callbacks see the messages earlier ones created.

    `candidates`: stored messages the batch may repeat (with their sightings), by message id.
    `ids`: fresh message ids in increasing order, at least one per callback.
    """
    by_ext: dict[str, Candidate] = {}
    by_hash: defaultdict[str, list[Candidate]] = defaultdict(list)
    for candidate in sorted(candidates.values(), key=lambda c: c.message_id):
        by_hash[candidate.content_hash].append(candidate)
        for ext in candidate.sightings.values():
            if ext:
                by_ext[ext] = candidate
    plan = BatchPlan()
    for incoming in batch:
        conv_id = conversation_ids[(incoming.conversation.kind, incoming.conversation.key)]
        plan.presence.setdefault((conv_id, incoming.robot_id), incoming.received_at)
        known = by_ext.get(incoming.external_id) if incoming.external_id else None
        same_content = by_hash.get(incoming.content_hash)
        # Nothing to compare with (most callbacks): new without asking `decide`.
        decision = decide(incoming, known, same_content or [], window) if known or same_content else _NEW
        if decision.verdict is Verdict.NEW:
            message_id = next(ids)
            plan.new.append(NewMessage(message_id, conv_id, incoming))
            candidate = Candidate(
                message_id, incoming.content_hash, incoming.received_at, first_robot=incoming.robot_id
            )
            candidates[message_id] = candidate
            by_hash[incoming.content_hash].append(candidate)
            plan.conversations_with_new.add(conv_id)
        else:
            assert decision.message_id is not None
            message_id = decision.message_id
            candidate = candidates[message_id]
        if decision.verdict is Verdict.COPY:
            plan.sightings.append((message_id, incoming))
            if incoming.at_me:
                plan.at_me.add(message_id)
        if decision.verdict is Verdict.REDELIVERY and decision.attach_external_id and incoming.external_id:
            on_message = candidate.first_robot == incoming.robot_id
            plan.attach.append((message_id, incoming.robot_id, incoming.external_id, on_message))
        if decision.verdict is not Verdict.REDELIVERY or decision.attach_external_id:
            candidate.sightings[incoming.robot_id] = incoming.external_id
        if incoming.external_id:
            by_ext[incoming.external_id] = candidate
        plan.results.append(Stored(message_id, conv_id, decision.verdict))
    return plan
