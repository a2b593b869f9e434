"""Rule benchmark: accuracy of the rule engine (no LLM) on labelled messages, and its speed.

Usage: `python scripts/bench_rules.py [FILE ...] [--split val|train|all] [--rules rules/] [--seconds S] [--strict]`.
Default FILE: `../shared/data/labelled-messages.jsonl` beside the repo. One JSON object a line:
`{"id", "sender_role", "text", "context": [{"role", "content"}], "type", "intervention", "split"?}`.

Prints type and intervention accuracy, a per-type precision/recall/F1 table, confusion matrices (rows true,
columns predicted), every misclassified message with the engine's reason, and throughput (messages/s on one
thread, the whole file classified repeatedly for at least `--seconds`, with and without context). Targets:
type accuracy >= 90%, intervention accuracy >= 85%, >= 10,000 messages/s. Exit code 0 (it is a report)
unless `--strict` and a target is missed (1); 2 when the input or the rules cannot be read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bot.rules.loading import RuleFileError
from bot.understanding.engine import ContextMessage, MessageInput
from bot.understanding.ruleset import RuleSet, load_ruleset

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_FILE: Final = ROOT.parent / "shared" / "data" / "labelled-messages.jsonl"
DEFAULT_RULES: Final = ROOT / "rules"
TYPE_TARGET: Final = 0.90
INTERVENTION_TARGET: Final = 0.85
SPEED_TARGET: Final = 10_000.0
CASES: Final = ("staff_took_over", "needs_staff_now", "needs_after_sales", "no_staff_needed")


class InputError(ValueError):
    """A labelled file is unreadable or a line is malformed; `str()` says file:line."""


@dataclass(frozen=True)
class Labelled:
    id: str
    message: MessageInput
    type: str
    intervention: str | None
    split: str | None


@dataclass(frozen=True)
class Outcome:
    item: Labelled
    type: str
    type_reason: str
    intervention: str
    intervention_reason: str

    @property
    def type_ok(self) -> bool:
        return self.type == self.item.type

    @property
    def intervention_ok(self) -> bool:
        return self.item.intervention is None or self.intervention == self.item.intervention


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def type_correct(self) -> int:
        return sum(o.type_ok for o in self.outcomes)

    @property
    def intervention_labelled(self) -> int:
        return sum(o.item.intervention is not None for o in self.outcomes)

    @property
    def intervention_correct(self) -> int:
        return sum(o.item.intervention is not None and o.intervention_ok for o in self.outcomes)


def _context(raw: Any, where: str) -> tuple[ContextMessage, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{where}: context must be a list")
    lines = []
    for entry in raw:
        if not isinstance(entry, dict) or "role" not in entry:
            raise InputError(f"{where}: each context line needs a role and content")
        text = entry.get("content", entry.get("text", ""))
        lines.append(ContextMessage(role=str(entry["role"]), text=str(text), sender=str(entry.get("sender", ""))))
    return tuple(lines)


def parse_line(line: str, where: str) -> Labelled:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{where}: a line must be a JSON object")
    missing = [key for key in ("text", "type") if key not in data]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    role = str(data.get("sender_role", data.get("role", "user")))
    message = MessageInput(
        text=str(data["text"]),
        role=role,
        sender=str(data.get("sender", "")),
        context=_context(data.get("context"), where),
    )
    intervention = data.get("intervention")
    split = data.get("split")
    return Labelled(
        id=str(data.get("id", where)),
        message=message,
        type=str(data["type"]),
        intervention=str(intervention) if intervention is not None else None,
        split=str(split) if split is not None else None,
    )


def load_labelled(paths: Iterable[Path]) -> list[Labelled]:
    items: list[Labelled] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                items.append(parse_line(line, f"{path}:{number}"))
    return items


def select(items: Sequence[Labelled], split: str) -> list[Labelled]:
    """`all`: every line; `train`/`val`: the lines marked so (unmarked lines belong to `all` only)."""
    return list(items) if split == "all" else [item for item in items if item.split == split]


def evaluate(ruleset: RuleSet, items: Iterable[Labelled]) -> Report:
    report = Report()
    for item in items:
        classification, verdict = ruleset.understand(item.message)
        report.outcomes.append(Outcome(item, classification.type, classification.reason, verdict.case, verdict.reason))
    return report


@dataclass(frozen=True)
class Speed:
    overall: float  # messages/s over the whole run
    median: float  # median of the rounds' rates: robust against a noisy neighbour


def throughput(ruleset: RuleSet, messages: Sequence[MessageInput], seconds: float) -> Speed:
    """Messages/s of `ruleset.understand` (classification and intervention) over `messages`, repeated in
    rounds of about 0.2 s (at least one pass each) for at least `seconds` in all."""
    if not messages:
        return Speed(0.0, 0.0)
    understand = ruleset.understand
    for message in messages:  # warm-up: jieba's dictionary, regex caches
        understand(message)
    rates: list[float] = []
    done, total = 0, 0.0
    round_s = min(0.2, seconds)
    while total < seconds or not rates:
        count = 0
        start = time.perf_counter()
        elapsed = 0.0
        while elapsed < round_s or not count:
            for message in messages:
                understand(message)
            count += len(messages)
            elapsed = time.perf_counter() - start
        rates.append(count / elapsed)
        done += count
        total += elapsed
    return Speed(done / total, statistics.median(rates))


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def type_order(ruleset: RuleSet, codes: Iterable[str]) -> list[str]:
    """The catalogue's order, then codes the catalogue does not know (e.g. a typo in a label)."""
    present = set(codes)
    known = [t.code for t in ruleset.message_types.types if t.code in present]
    return known + sorted(present - set(known))


def per_type_table(report: Report, codes: Sequence[str]) -> list[str]:
    truth = Counter(o.item.type for o in report.outcomes)
    predicted = Counter(o.type for o in report.outcomes)
    hits = Counter(o.type for o in report.outcomes if o.type_ok)
    width = max((len(c) for c in codes), default=4)
    lines = [f"{'type':<{width}}  {'true':>4}  {'pred':>4}  {'prec':>6}  {'recall':>6}  {'F1':>6}"]
    for code in codes:
        precision = _ratio(hits[code], predicted[code])
        recall = _ratio(hits[code], truth[code])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append(
            f"{code:<{width}}  {truth[code]:>4}  {predicted[code]:>4}  "
            f"{pct(hits[code], predicted[code]):>6}  {pct(hits[code], truth[code]):>6}  {100 * f1:>5.1f}%"
        )
    return lines


def confusion(pairs: Sequence[tuple[str, str]], codes: Sequence[str]) -> list[str]:
    """Rows: true; columns: predicted, numbered as the rows."""
    counts = Counter(pairs)
    width = max((len(c) for c in codes), default=4)
    cell = max(3, len(str(max(counts.values(), default=0))) + 1)
    header = " " * (width + 4) + "".join(f"{n:>{cell}}" for n in range(1, len(codes) + 1))
    lines = [header]
    for n, true in enumerate(codes, 1):
        cells = "".join(f"{counts[(true, pred)] or '.':>{cell}}" for pred in codes)
        lines.append(f"{n:>2} {true:<{width}} {cells}")
    return lines


def misclassified(report: Report) -> list[str]:
    lines = []
    for o in report.outcomes:
        if o.type_ok and o.intervention_ok:
            continue
        text = o.item.message.text.replace("\n", " ")
        ctx = f" [context: {len(o.item.message.context)}]" if o.item.message.context else ""
        lines.append(f"{o.item.id} ({o.item.message.role}) «{text}»{ctx}")
        if not o.type_ok:
            lines.append(f"    type: {o.item.type} → {o.type}  ({o.type_reason})")
        if not o.intervention_ok:
            reason = o.intervention_reason or f"as {o.type}"
            lines.append(f"    intervention: {o.item.intervention} → {o.intervention}  ({reason})")
    return lines


def verdict(ok: bool, what: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}  {what}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Accuracy and speed of the message rules on labelled messages.")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help=f"labelled JSONL (default {DEFAULT_FILE})")
    parser.add_argument("--split", choices=("val", "train", "all"), default="all", help="which lines to evaluate")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rule directory (default: rules/)")
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum time of each throughput run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    files: list[Path] = args.files or [DEFAULT_FILE]

    try:
        ruleset = load_ruleset(args.rules)
        items = select(load_labelled(files), args.split)
    except (RuleFileError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"rules {args.rules} (version {ruleset.version}); {', '.join(str(f) for f in files)}")
    print(f"split {args.split}: {len(items)} messages")
    if not items:
        print("nothing to evaluate")
        return 1 if args.strict else 0

    report = evaluate(ruleset, items)
    total, labelled = len(report.outcomes), report.intervention_labelled
    type_acc = _ratio(report.type_correct, total)
    intervention_acc = _ratio(report.intervention_correct, labelled)
    print()
    print(f"type accuracy: {pct(report.type_correct, total)} ({report.type_correct}/{total})")
    print(
        f"intervention accuracy: {pct(report.intervention_correct, labelled)} "
        f"({report.intervention_correct}/{labelled})"
    )

    codes = type_order(ruleset, [o.item.type for o in report.outcomes] + [o.type for o in report.outcomes])
    print("\nper type:")
    print("\n".join(per_type_table(report, codes)))
    print("\ntype confusion (rows true, columns predicted):")
    print("\n".join(confusion([(o.item.type, o.type) for o in report.outcomes], codes)))
    pairs = [(o.item.intervention, o.intervention) for o in report.outcomes if o.item.intervention is not None]
    seen = {case for pair in pairs for case in pair}
    cases = [c for c in CASES if c in seen] + sorted(seen - set(CASES))
    print("\nintervention confusion (rows true, columns predicted):")
    print("\n".join(confusion([(t, p) for t, p in pairs if t is not None], cases)))

    wrong = misclassified(report)
    print(f"\nmisclassified: {sum(not (o.type_ok and o.intervention_ok) for o in report.outcomes)}")
    if wrong:
        print("\n".join(wrong))

    with_context = [item.message for item in items]
    without_context = [MessageInput(m.text, m.role, m.sender) for m in with_context]
    speed_with = throughput(ruleset, with_context, args.seconds)
    speed_without = throughput(ruleset, without_context, args.seconds)
    print("\nthroughput (one thread, classification + intervention, no LLM; median of ~0.2 s rounds):")
    print(f"  with context:    {speed_with.median:,.0f} messages/s (overall {speed_with.overall:,.0f})")
    print(f"  without context: {speed_without.median:,.0f} messages/s (overall {speed_without.overall:,.0f})")

    slower = min(speed_with.median, speed_without.median)
    checks = [
        (type_acc >= TYPE_TARGET, f"type accuracy {pct(report.type_correct, total)} (target ≥ 90%)"),
        (
            intervention_acc >= INTERVENTION_TARGET,
            f"intervention accuracy {pct(report.intervention_correct, labelled)} (target ≥ 85%)",
        ),
        (slower >= SPEED_TARGET, f"throughput {slower:,.0f} messages/s, the slower run (target ≥ 10,000)"),
    ]
    print()
    for ok, what in checks:
        print(verdict(ok, what))
    missed = not all(ok for ok, _ in checks)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
