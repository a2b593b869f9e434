"""Rule benchmark: accuracy of the rule engine (no LLM) on labelled messages, and its speed.

Usage: `python scripts/bench_rules.py [FILE ...] [--split val|train|all] [--rules rules/] [--baseline REV]
[--no-baseline] [--seconds S] [--strict] [--show-test-errors]`.

With no FILE: the splits of `data/labelled/README.md` — train (what rules are written from), dev, test (never
read while writing rules: only its figures are printed) — each reported on its own, and the rules as they were
at `--baseline` (default d9f6564, the start of issue 17: its engine and rule files, exported with `git archive`
and run in a child process) beside the current ones, in the same run. With FILEs: those lines (filtered by
`--split`), no baseline unless asked for. One JSON object a line:
`{"id", "sender_role", "text", "context": [{"role", "content", "sender"?}], "type", "intervention", "split"?,
"sender"?, "addressee"?, "tone"?}`.

Prints type and intervention accuracy, complaint precision and recall, false takeovers on remarks between staff
(`addressee: staff` labelled `staff_took_over` by the rules), positives flagged as complaints (`tone: positive`),
a per-type precision/recall/F1 table, confusion matrices (rows true, columns predicted), misclassified messages
with the engine's reason (not for test), and throughput (messages/s on one thread, classification and
intervention, with and without context). Exit code 0 (it is a report) unless `--strict` and a target is missed
(1); 2 when the input or the rules cannot be read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
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
LABELLED: Final = ROOT / "data" / "labelled"
SPLITS: Final = {
    "train": (LABELLED / "train.jsonl", ROOT / "tests" / "fixtures" / "rules" / "dev-messages.jsonl", DEFAULT_FILE),
    "dev": (LABELLED / "dev.jsonl",),
    "test": (LABELLED / "test.jsonl",),
}
BASELINE: Final = "d9f6564"  # the rules and engine at the start of issue 17
DEFAULT_RULES: Final = ROOT / "rules"
TYPE_TARGET: Final = 0.95
INTERVENTION_TARGET: Final = 0.95
COMPLAINT_RECALL_TARGET: Final = 0.85
COMPLAINT_PRECISION_TARGET: Final = 0.90
FALSE_TAKEOVER_TARGET: Final = 0.02
POSITIVE_AS_COMPLAINT_TARGET: Final = 0.03
SPEED_TARGET: Final = 10_000.0
COMPLAINT: Final = "chat_complaint"
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
    addressee: str | None = None
    tone: str | None = None


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
    addressee, tone = data.get("addressee"), data.get("tone")
    return Labelled(
        id=str(data.get("id", where)),
        message=message,
        type=str(data["type"]),
        intervention=str(intervention) if intervention is not None else None,
        split=str(split) if split is not None else None,
        addressee=str(addressee) if addressee is not None else None,
        tone=str(tone) if tone is not None else None,
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
        start = time.process_time()  # CPU time: the rate per core, whatever the neighbours do
        elapsed = 0.0
        while elapsed < round_s or not count:
            for message in messages:
                understand(message)
            count += len(messages)
            elapsed = time.process_time() - start
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


@dataclass(frozen=True)
class Figures:
    """The issue's measures over one split: (hits, out of) pairs."""

    type: tuple[int, int]
    intervention: tuple[int, int]
    complaint_recall: tuple[int, int]
    complaint_precision: tuple[int, int]
    false_takeover: tuple[int, int]  # remarks between staff (addressee staff) judged staff_took_over
    positive_as_complaint: tuple[int, int]  # tone positive classed chat_complaint

    @classmethod
    def of(cls, rows: Sequence[tuple[Labelled, str, str]]) -> Figures:
        labelled = [(i, c) for i, _, c in rows if i.intervention is not None]
        complaints = [(i, t) for i, t, _ in rows if i.type == COMPLAINT]
        called = [(i, t) for i, t, _ in rows if t == COMPLAINT]
        remarks = [c for i, _, c in rows if i.addressee == "staff"]
        positives = [t for i, t, _ in rows if i.tone == "positive"]
        return cls(
            (sum(i.type == t for i, t, _ in rows), len(rows)),
            (sum(i.intervention == c for i, c in labelled), len(labelled)),
            (sum(t == COMPLAINT for _, t in complaints), len(complaints)),
            (sum(i.type == COMPLAINT for i, _ in called), len(called)),
            (sum(c == "staff_took_over" for c in remarks), len(remarks)),
            (sum(t == COMPLAINT for t in positives), len(positives)),
        )

    def lines(self) -> list[tuple[str, tuple[int, int], float, bool]]:
        """(what, figure, target, higher is better)."""
        return [
            ("type accuracy", self.type, TYPE_TARGET, True),
            ("intervention accuracy", self.intervention, INTERVENTION_TARGET, True),
            ("complaint recall", self.complaint_recall, COMPLAINT_RECALL_TARGET, True),
            ("complaint precision", self.complaint_precision, COMPLAINT_PRECISION_TARGET, True),
            ("false staff_took_over on remarks between staff", self.false_takeover, FALSE_TAKEOVER_TARGET, False),
            ("positives flagged as complaints", self.positive_as_complaint, POSITIVE_AS_COMPLAINT_TARGET, False),
        ]


def _meets(figure: tuple[int, int], target: float, higher: bool) -> bool:
    if not figure[1]:
        return True
    ratio = figure[0] / figure[1]
    return ratio >= target if higher else ratio <= target


def _show(figure: tuple[int, int]) -> str:
    return f"{pct(*figure)} ({figure[0]}/{figure[1]})" if figure[1] else "n/a"


# Run in a child process with the baseline's tree first on sys.path: only the API every version has
# (load_ruleset, RuleSet.understand, MessageInput, ContextMessage).
_CHILD: Final = """
import json, statistics, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bot.understanding.engine import ContextMessage, MessageInput
from bot.understanding.ruleset import load_ruleset
job = json.load(sys.stdin)
rules = load_ruleset(Path(sys.argv[1]) / "rules")
msgs = [MessageInput(m["text"], m["role"], m["sender"], None,
                     tuple(ContextMessage(role=c[0], text=c[1], sender=c[2]) for c in m["context"]))
        for m in job["items"]]
out = []
for m in msgs:
    c, v = rules.understand(m)
    out.append([c.type, c.reason, v.case, v.reason])
rates, total, done = [], 0.0, 0
while total < job["seconds"] or not rates:
    start = time.process_time()
    for m in msgs:
        rules.understand(m)
    elapsed = time.process_time() - start
    rates.append(len(msgs) / elapsed)
    total += elapsed
    done += len(msgs)
json.dump({"version": rules.version, "results": out,
           "speed": [done / total, statistics.median(rates)]}, sys.stdout)
"""


@dataclass(frozen=True)
class Baseline:
    version: str
    results: list[tuple[str, str, str, str]]  # type, reason, case, reason — in the order of the items
    speed: Speed
    rev: str = BASELINE


def run_baseline(rev: str, items: Sequence[Labelled], seconds: float) -> Baseline:
    """The engine and rules of `rev` (git archive of bot/ and rules/) over `items`, in a child process."""
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tree:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "bot", "rules"], capture_output=True, check=False
        )
        if archive.returncode:
            raise InputError(f"baseline {rev}: git archive failed: {archive.stderr.decode(errors='replace')}")
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        job = {
            "seconds": seconds,
            "items": [
                {
                    "text": i.message.text,
                    "role": i.message.role,
                    "sender": i.message.sender,
                    "context": [[c.role, c.text, c.sender] for c in i.message.context],
                }
                for i in items
            ],
        }
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, tree],
            input=json.dumps(job, ensure_ascii=False).encode(),
            capture_output=True,
            cwd=tree,
            check=False,
        )
        if child.returncode:
            raise InputError(f"baseline {rev}: {child.stderr.decode(errors='replace')[-2000:]}")
    data = json.loads(child.stdout)
    results = [(str(a), str(b), str(c), str(d)) for a, b, c, d in data["results"]]
    return Baseline(str(data["version"]), results, Speed(float(data["speed"][0]), float(data["speed"][1])), rev)


def report_split(
    name: str,
    items: Sequence[Labelled],
    ruleset: RuleSet,
    baseline: Baseline | None,
    offset: int,
    *,
    show_errors: bool,
) -> tuple[Figures, list[str]]:
    """Prints one split's figures (before → after with a baseline); returns the current figures and the
    PASS/FAIL lines."""
    report = evaluate(ruleset, items)
    total, labelled = len(report.outcomes), report.intervention_labelled
    now = Figures.of([(o.item, o.type, o.intervention) for o in report.outcomes])
    print(f"\n=== split {name}: {len(items)} messages ===")
    print(f"type accuracy: {pct(report.type_correct, total)} ({report.type_correct}/{total})")
    print(
        f"intervention accuracy: {pct(report.intervention_correct, labelled)} "
        f"({report.intervention_correct}/{labelled})"
    )
    before = None
    if baseline is not None:
        mine = baseline.results[offset : offset + len(items)]
        before = Figures.of([(item, r[0], r[2]) for item, r in zip(items, mine, strict=True)])
    width = max(len(what) for what, *_ in now.lines())
    label = f"before ({baseline.rev})" if baseline is not None else ""
    header = f"{'':<{width}}  {label:>22}  {'now':>22}  target"
    print(header if before else f"{'':<{width}}  {'now':>22}  target")
    checks: list[str] = []
    for n, (what, figure, target, higher) in enumerate(now.lines()):
        bound = f"{'≥' if higher else '≤'} {100 * target:.0f}%"
        was = f"{_show(before.lines()[n][1]):>22}  " if before else ""
        print(f"{what:<{width}}  {was}{_show(figure):>22}  {bound}")
        checks.append(verdict(_meets(figure, target, higher), f"{what} {_show(figure)} (target {bound}) [{name}]"))

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
    if wrong and show_errors:
        print("\n".join(wrong))
    elif wrong:
        print("(not listed: test errors are never read while writing rules; --show-test-errors lists them)")
    return now, checks


def print_speed(ruleset: RuleSet, every: Sequence[Labelled], baseline: Baseline | None, seconds: float) -> str:
    """Prints the throughput figures; returns the PASS/FAIL line."""
    with_context = [item.message for item in every]
    without_context = [MessageInput(m.text, m.role, m.sender) for m in with_context]
    speed_with = throughput(ruleset, with_context, seconds)
    speed_without = throughput(ruleset, without_context, seconds)
    print(f"\nthroughput over all {len(every)} messages (one thread, classification + intervention, no LLM;")
    print("median of ~0.2 s rounds of CPU time, i.e. per core):")
    if baseline is not None:
        speed = baseline.speed
        print(f"  before, with context: {speed.median:,.0f} messages/s (overall {speed.overall:,.0f})")
    print(f"  with context:    {speed_with.median:,.0f} messages/s (overall {speed_with.overall:,.0f})")
    print(f"  without context: {speed_without.median:,.0f} messages/s (overall {speed_without.overall:,.0f})")
    slower = min(speed_with.median, speed_without.median)
    return verdict(slower >= SPEED_TARGET, f"throughput {slower:,.0f} messages/s, the slower run (target ≥ 10,000)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Accuracy and speed of the message rules on labelled messages.")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="labelled JSONL (default: the splits)")
    parser.add_argument("--split", choices=("val", "train", "all"), default="all", help="which lines of FILEs")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rule directory (default: rules/)")
    parser.add_argument("--baseline", metavar="REV", help=f"compare with the rules at REV (default {BASELINE})")
    parser.add_argument("--no-baseline", action="store_true", help="no comparison with earlier rules")
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum time of each throughput run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--show-test-errors", action="store_true", help="list the test split's errors too")
    args = parser.parse_args(argv)
    named: list[tuple[str, list[Path]]]
    if args.files:
        named = [(args.split, list(args.files))]
        rev = None if args.no_baseline else args.baseline
    else:
        named = [(name, [p for p in paths if p.exists()]) for name, paths in SPLITS.items()]
        rev = None if args.no_baseline else (args.baseline or BASELINE)

    try:
        ruleset = load_ruleset(args.rules)
        sets = [
            (name, select(load_labelled(paths), args.split) if args.files else load_labelled(paths))
            for name, paths in named
        ]
    except (RuleFileError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    every = [item for _, items in sets for item in items]
    print(f"rules {args.rules} (version {ruleset.version}); {', '.join(str(f) for _, fs in named for f in fs)}")
    for name, items in sets:
        print(f"split {name}: {len(items)} messages")
    if not every:
        print("nothing to evaluate")
        return 1 if args.strict else 0
    baseline = None
    if rev is not None:
        try:
            baseline = run_baseline(rev, every, args.seconds)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"baseline: the engine and rules at {rev} (version {baseline.version}), same messages")

    checks: list[str] = []
    offset = 0
    for name, items in sets:
        _, lines = report_split(
            name, items, ruleset, baseline, offset, show_errors=name != "test" or args.show_test_errors
        )
        offset += len(items)
        if name not in ("train",) or len(sets) == 1:
            checks += lines

    checks.append(print_speed(ruleset, every, baseline, args.seconds))
    print()
    for line in checks:
        print(line)
    missed = any(line.startswith("FAIL") for line in checks)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
