"""`hub rules replay`: what a rule set would change on stored messages (nothing is written)."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from bot.rules.people import Directory
from bot.understanding.engine import ContextMessage, MessageInput
from bot.understanding.ruleset import RuleSet
from models.messages import InboundMessage, ProcessingState

PAGE: Final = 2000
CONTEXT: Final = 12


@dataclass
class ReplayReport:
    messages: int = 0
    type_changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    case_changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    @property
    def changed_types(self) -> int:
        return sum(self.type_changes.values())

    @property
    def changed_cases(self) -> int:
        return sum(self.case_changes.values())


async def replay(
    rules: RuleSet,
    directory: Directory,
    since: datetime,
    *,
    max_samples: int = 20,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    report = ReplayReport()
    recent: defaultdict[int, deque[ContextMessage]] = defaultdict(lambda: deque(maxlen=CONTEXT))
    last_id = 0
    while True:
        page = (
            await InboundMessage.filter(received_at__gte=since, id__gt=last_id, state=ProcessingState.PROCESSED)
            .order_by("id")
            .limit(PAGE)
        )
        if not page:
            return report
        for row in page:
            last_id = row.id
            conversation: int = row.conversation_id  # type: ignore[attr-defined]
            role = row.sender_role or directory.role_of(row.sender_name)
            context = tuple(recent[conversation])
            if role == "robot":
                recent[conversation].append(ContextMessage(role, row.text, row.sender_name, row.received_at, None))
                continue
            msg = MessageInput(row.text, role, row.sender_name, row.received_at, context)
            found, verdict = rules.understand(msg)
            recent[conversation].append(ContextMessage(role, row.text, row.sender_name, row.received_at, found.type))
            report.messages += 1
            if row.type != found.type:
                report.type_changes[(row.type or "-", found.type)] += 1
            if row.intervention_case != verdict.case:
                report.case_changes[(row.intervention_case or "-", verdict.case)] += 1
            changed = row.type != found.type or row.intervention_case != verdict.case
            if changed and len(report.samples) < max_samples:
                report.samples.append(
                    f"#{row.id} «{row.text[:40]}»: {row.type}→{found.type}, {row.intervention_case}→{verdict.case}"
                )
        if progress is not None:
            progress(report.messages)
