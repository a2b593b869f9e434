"""A rule set: the message types, intervention and reply rules, validated together and self-tested.

`load_ruleset` either returns a complete, tested set or raises RuleFileError listing every problem as
`file:line: field: problem`; it never returns half a set. Its version is a hash of the files' contents,
stored on every classified message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from bot.robots.health import self_test as health_self_test
from bot.rules.alerts import AlertsFile, load_alerts
from bot.rules.assignment import AssignmentFile, load_assignment
from bot.rules.health import HealthFile, load_health
from bot.rules.intervention import InterventionFile, load_intervention
from bot.rules.loading import RuleFileError, _line_of
from bot.rules.message_types import CATEGORY_ROLES, ContextLine, MessageTypesFile, load_message_types
from bot.rules.people import PeopleFile, load_people
from bot.rules.replies import RepliesFile, load_replies
from bot.understanding.addressee import AddresseeFinder
from bot.understanding.engine import Classification, ContextMessage, Engine, MessageInput
from bot.understanding.intervention import Intervention, judge, open_item
from bot.understanding.replies import decide_reply

FILES: Final = (
    "message_types.yaml",
    "intervention.yaml",
    "replies.yaml",
    "alerts.yaml",
    "assignment.yaml",
    "health.yaml",
    "people.yaml",  # names and aliases: whom staff address (the directory itself is read at start-up)
)


@dataclass(frozen=True)
class RuleSet:
    version: str
    directory: Path
    message_types: MessageTypesFile
    intervention: InterventionFile
    replies: RepliesFile
    engine: Engine
    alerts: AlertsFile
    assignment: AssignmentFile
    health: HealthFile

    def understand(self, msg: MessageInput, open_elsewhere: str | None = None) -> tuple[Classification, Intervention]:
        classification = self.engine.classify(msg)
        return classification, judge(msg, classification, self.intervention, self.engine, open_elsewhere)


def _context(lines: tuple[ContextLine, ...]) -> tuple[ContextMessage, ...]:
    return tuple(ContextMessage(role=line.role, text=line.content, sender=line.sender) for line in lines)


def _where(path: Path, loc: tuple[int | str, ...]) -> str:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        node = None
    return f"{path}:{_line_of(node, loc) or 1}"


def _cross_checks(
    directory: Path, types: MessageTypesFile, intervention: InterventionFile, replies: RepliesFile, alerts: AlertsFile
) -> Iterator[str]:
    known = {t.code for t in types.types}
    path = directory / "intervention.yaml"
    sections: dict[str, tuple[str, ...]] = {
        "needs_staff_now": intervention.needs_staff_now.types,
        "refusal": intervention.refusal.types,
        "needs_after_sales": intervention.needs_after_sales.types,
    }
    for section, codes in sections.items():
        for n, code in enumerate(codes):
            if code not in known:
                yield f"{_where(path, (section, 'types', n))}: {section}.types: unknown message type {code!r}"
    takeover = intervention.staff_took_over
    for field in ("types", "open_item_types"):
        for n, code in enumerate(getattr(takeover, field)):
            if code not in known:
                yield f"{_where(path, ('staff_took_over', field, n))}: staff_took_over.{field}: unknown type {code!r}"
    path = directory / "replies.yaml"
    typed = [("holding", n, h.types) for n, h in enumerate(replies.holding)]
    typed += [("faq", n, f.types) for n, f in enumerate(replies.faq)]
    for kind, n, codes in typed:
        for code in codes:
            if code not in known:
                yield f"{_where(path, (kind, n, 'types'))}: {kind}.{n}.types: unknown message type {code!r}"
    path = directory / "alerts.yaml"
    for code in alerts.open_for_types if path.exists() else ():  # the built-in defaults name optional types
        if code not in known:
            yield f"{_where(path, ('open_for_types', code))}: open_for_types: unknown message type {code!r}"


def self_test(ruleset: RuleSet) -> list[str]:
    """Every example of every file, run through the engine as a whole; the failures, located."""
    failures: list[str] = []
    directory = ruleset.directory
    path = directory / "message_types.yaml"
    for t, mtype in enumerate(ruleset.message_types.types):
        for e, example in enumerate(mtype.examples):
            role = example.role or CATEGORY_ROLES[mtype.category][0]
            got = ruleset.engine.classify(
                MessageInput(example.text, role, example.sender, None, _context(example.context))
            )
            want = example.expect or mtype.code
            if got.type != want:
                where = _where(path, ("types", t, "examples", e))
                failures.append(
                    f"{where}: {mtype.code}.examples.{e}: «{example.text}» is {got.type}, not {want} ({got.reason})"
                )
    path = directory / "intervention.yaml"
    for e, case in enumerate(ruleset.intervention.examples):
        msg = MessageInput(case.text, case.role, case.sender, None, _context(case.context))
        classification, verdict = ruleset.understand(msg)
        if verdict.case != case.expect:
            where = _where(path, ("examples", e))
            failures.append(
                f"{where}: examples.{e}: «{case.text}» ({classification.type}) is {verdict.case}, not {case.expect}"
                f" ({verdict.reason or classification.reason})"
            )
        finder = ruleset.engine.addressing
        if case.addressee is not None and finder is not None:
            item = open_item(msg.context, None, ruleset.intervention, ruleset.engine)
            to = finder.find(case.text, (item.sender if item is not None else "") if msg.context else None)
            if to.addressee != case.addressee:
                where = _where(path, ("examples", e, "addressee"))
                failures.append(
                    f"{where}: examples.{e}: «{case.text}» addresses {to.addressee}, not {case.addressee} ({to.reason})"
                )
    path = directory / "replies.yaml"
    for e, reply in enumerate(ruleset.replies.examples):
        rtype = ruleset.engine.types.get(reply.type)
        if rtype is None:
            failures.append(f"{_where(path, ('examples', e, 'type'))}: examples.{e}.type: unknown type {reply.type!r}")
            continue
        classification = Classification(rtype.code, rtype.name, rtype.category, 1.0, "example", "rules")
        verdict = judge(MessageInput(reply.text, "user"), classification, ruleset.intervention, ruleset.engine)
        decision = decide_reply(
            reply.text,
            "user",
            classification,
            verdict,
            at_me=reply.at_me,
            private=reply.private,
            rules=ruleset.replies,
            variables={"sender": "号主", "staff": "客服", "group": "群"},
        )
        got_name = decision.rule if decision else None
        if got_name != reply.expect:
            where = _where(path, ("examples", e))
            failures.append(f"{where}: examples.{e}: «{reply.text}» gets {got_name}, not {reply.expect}")
    path = directory / "health.yaml"
    for e, problem in health_self_test(ruleset.health):
        failures.append(f"{_where(path, ('examples', e))}: examples.{e}: {problem}")
    return failures


def load_ruleset(directory: Path) -> RuleSet:
    """Validate, cross-check and self-test every rule file as a whole; RuleFileError lists every problem."""
    problems: list[str] = []
    loaded: dict[str, object] = {}
    for name, loader in (
        ("message_types.yaml", load_message_types),
        ("intervention.yaml", load_intervention),
        ("replies.yaml", load_replies),
        ("alerts.yaml", load_alerts),
        ("assignment.yaml", load_assignment),
        ("health.yaml", load_health),
        ("people.yaml", load_people),
    ):
        try:
            loaded[name] = loader(directory / name)
        except RuleFileError as exc:
            problems.append(str(exc))
    if problems:
        raise RuleFileError("\n".join(problems))
    types = loaded["message_types.yaml"]
    intervention = loaded["intervention.yaml"]
    replies = loaded["replies.yaml"]
    alerts = loaded["alerts.yaml"]
    assignment = loaded["assignment.yaml"]
    assert isinstance(types, MessageTypesFile)
    assert isinstance(intervention, InterventionFile)
    assert isinstance(replies, RepliesFile)
    assert isinstance(alerts, AlertsFile)
    assert isinstance(assignment, AssignmentFile)
    health = loaded["health.yaml"]
    assert isinstance(health, HealthFile)
    people = loaded["people.yaml"]
    assert isinstance(people, PeopleFile)
    names = [n for person in people.people if person.active for n in (person.name, *person.aliases)]
    problems = list(_cross_checks(directory, types, intervention, replies, alerts))
    if problems:
        raise RuleFileError("\n".join(problems))
    digest = hashlib.sha256()
    for name in FILES:
        path = directory / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    engine = Engine(types, AddresseeFinder(intervention.addressee, names))
    ruleset = RuleSet(
        digest.hexdigest()[:12], directory, types, intervention, replies, engine, alerts, assignment, health
    )
    failures = self_test(ruleset)
    if failures:
        raise RuleFileError(f"{len(failures)} rule example(s) failed:\n" + "\n".join(failures))
    return ruleset


def diff_summary(old: RuleSet | None, new: RuleSet) -> str:
    """What changed, in a line: types added/removed, rule and example counts, replies."""
    if old is None:
        return f"{len(new.message_types.types)} types, {sum(len(t.rules) for t in new.message_types.types)} rules"
    before = {t.code: t for t in old.message_types.types}
    after = {t.code: t for t in new.message_types.types}
    parts = [f"+type {c}" for c in sorted(after.keys() - before.keys())]
    parts += [f"-type {c}" for c in sorted(before.keys() - after.keys())]
    for code in sorted(before.keys() & after.keys()):
        if before[code] != after[code]:
            parts.append(f"{code}: rules {len(before[code].rules)}→{len(after[code].rules)}")
    if old.intervention != new.intervention:
        parts.append("intervention changed")
    if old.alerts != new.alerts:
        parts.append("alerts changed")
    if old.assignment != new.assignment:
        parts.append("assignment changed")
    if old.health != new.health:
        parts.append("health changed")
    if old.replies != new.replies:
        parts.append(f"replies: faq {len(old.replies.faq)}→{len(new.replies.faq)}")
    return ", ".join(parts) or "no effective change"
