"""The rule benchmark's figures are right for a tiny labelled file, and the shipped rules load and self-test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.understanding.ruleset import load_ruleset
from scripts.bench_rules import load_labelled, main, report_split, select
from tests.conftest import REPO

LINES: list[dict[str, Any]] = [
    {
        "id": "t1",
        "sender_role": "user",
        "text": "大家早上好",
        "context": [],
        "type": "chat_daily",
        "intervention": "no_staff_needed",
        "split": "train",
    },
    {
        "id": "t2",
        "sender_role": "user",
        "text": "二维码过期了，能再发一个吗",
        "context": [],
        "type": "chat_after_sales",
        "intervention": "needs_after_sales",
        "split": "train",
    },
    {  # labelled wrong on purpose: the rules call it a complaint (the intervention label is right)
        "id": "t3",
        "sender_role": "user",
        "text": "我要退款",
        "context": [],
        "type": "chat_daily",
        "intervention": "needs_staff_now",
        "split": "train",
    },
    {
        "id": "t4",
        "sender_role": "staff",
        "text": "@刘姐 麻烦扫一下码",
        "context": [{"role": "user", "content": "码过期了"}],
        "type": "staff_at_user",
        "intervention": "staff_took_over",
        "split": "val",
    },
]


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in LINES), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args, "--rules", str(REPO / "rules"), "--seconds", "0.05"])
    return code, capsys.readouterr().out


def test_train_split_figures(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, str(labelled), "--split", "train")
    assert code == 0, out  # a report: missed targets do not fail the run
    assert "split train: 3 messages" in out
    assert "type accuracy: 66.7% (2/3)" in out
    assert "intervention accuracy: 100.0% (3/3)" in out
    assert "FAIL  type accuracy 66.7%" in out
    assert "PASS  intervention accuracy 100.0%" in out
    # the wrong label is listed with what the rules said and why
    assert "t3 (user) «我要退款»" in out
    assert "type: chat_daily → chat_complaint" in out
    assert "'退款'" in out or "退款|" in out
    assert "t1 (user)" not in out.split("misclassified:")[1]
    # per type: chat_daily has 2 true, 1 predicted and correct → precision 100%, recall 50%
    row = next(line for line in out.splitlines() if line.startswith("chat_daily "))
    assert row.split() == ["chat_daily", "2", "1", "100.0%", "50.0%", "66.7%"]
    assert "with context:" in out
    assert "without context:" in out
    assert "messages/s" in out


def test_val_split_and_takeover(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, str(labelled), "--split", "val")
    assert code == 0
    assert "split val: 1 messages" in out
    assert "type accuracy: 100.0% (1/1)" in out
    assert "intervention accuracy: 100.0% (1/1)" in out  # staff answered the open "码过期了"
    assert "misclassified: 0" in out


def test_all_lines_and_the_confusion_matrix(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, str(labelled))
    assert "type accuracy: 75.0% (3/4)" in out
    matrix = out.split("type confusion (rows true, columns predicted):\n")[1].split("\n\n")[0].splitlines()
    rows = {line.split()[1]: line.split()[2:] for line in matrix[1:]}
    # only types that occur: chat_daily, chat_after_sales, chat_complaint, staff_at_user
    assert list(rows) == ["chat_daily", "chat_after_sales", "chat_complaint", "staff_at_user"]
    assert rows["chat_daily"] == ["1", ".", "1", "."]
    assert rows["chat_complaint"] == [".", ".", ".", "."]


def test_strict_fails_on_a_missed_target(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(capsys, str(labelled), "--split", "train", "--strict")
    assert code == 1


def test_a_bad_line_is_reported_with_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "在吗", "type": "chat_other"}\n{not json\n', encoding="utf-8")
    code = main([str(path), "--rules", str(REPO / "rules"), "--seconds", "0.05"])
    assert code == 2
    assert f"{path}:2: invalid JSON" in capsys.readouterr().err


def test_the_shipped_rules_load_and_their_examples_pass() -> None:
    ruleset = load_ruleset(REPO / "rules")  # raises RuleFileError naming file:line if any example fails
    assert len(ruleset.message_types.types) == 15
    assert ruleset.intervention.examples
    assert ruleset.replies.examples


ISSUE_17: list[dict[str, Any]] = [
    {  # a remark between staff while an owner's complaint is open
        "id": "r1",
        "sender_role": "manager",
        "sender": "张经理",
        "text": "小王，下午的周会材料整理一下发我",
        "context": [{"role": "user", "sender": "刘姐", "content": "质量太差了"}],
        "type": "staff_other",
        "intervention": "no_staff_needed",
        "addressee": "staff",
    },
    {"id": "p1", "sender_role": "user", "text": "谢谢", "type": "chat_daily", "tone": "positive"},
    {"id": "c1", "sender_role": "user", "text": "我要退款", "type": "chat_complaint"},
    {"id": "c2", "sender_role": "user", "text": "大家早上好", "type": "chat_complaint"},  # missed on purpose
]


def test_the_issue_17_figures_and_a_baseline_in_the_same_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "issue17.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in ISSUE_17), encoding="utf-8")
    code, out = run(capsys, str(path), "--baseline", "HEAD", "--seconds", "0.01")
    assert code == 0, out
    assert "baseline: the engine and rules at HEAD" in out
    row = next(line for line in out.splitlines() if line.startswith("complaint recall"))
    assert row.split()[-4:-2] == ["50.0%", "(1/2)"]  # now; the same figure before it, as HEAD is these rules
    assert row.split()[2:4] == ["50.0%", "(1/2)"]
    assert "complaint precision " in out
    assert "positives flagged as complaints" in out
    assert "false staff_took_over on remarks between staff" in out
    assert "before, with context:" in out


def test_test_split_errors_are_not_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(ISSUE_17[3], ensure_ascii=False) + "\n", encoding="utf-8")
    items = select(load_labelled([path]), "all")
    ruleset = load_ruleset(REPO / "rules")
    figures, checks = report_split("test", items, ruleset, None, 0, show_errors=False)
    out = capsys.readouterr().out
    assert "c2 (user)" not in out
    assert "test errors are never read" in out
    assert figures.complaint_recall == (0, 1)
    assert any(line.startswith("FAIL  complaint recall 0.0%") for line in checks)
