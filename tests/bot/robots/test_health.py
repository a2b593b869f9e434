"""Robot health scoring (pure): components, bands, recommendations, and the rules file's checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.robots.health import Observations, count_flaps, p90, score, window_text
from bot.rules.health import HealthFile, Ramp
from bot.rules.loading import RuleFileError
from bot.understanding.ruleset import load_ruleset
from bot.understanding.store import RuleStore

RULES = HealthFile()
ROOT = Path(__file__).resolve().parents[3]
HEALTHY = Observations(True, succeeded=20, time_costs=(2.0,) * 20, callbacks=30, usual_callbacks=30)
FLAPPING = Observations(
    True, flaps=3, succeeded=10, unknown=2, time_costs=(3.0,) * 10, callbacks=20, usual_callbacks=30
)
SILENT = Observations(True, unknown=12, callbacks=0, usual_callbacks=30)


@pytest.mark.parametrize(
    ("obs", "want_score", "want_status"),
    [
        (HEALTHY, 100, "excellent"),
        (FLAPPING, 66, "warning"),
        (SILENT, 15, "critical"),
        (Observations(None), 88, "good"),  # never reported online: a little off
        (Observations(False, offline_s=600), 40, "critical"),
        (Observations(True, succeeded=2, unknown=1), 62, "warning"),  # 1 of 3 unknown: 63% of its 60 points
        (Observations(True, succeeded=1, unknown=1), 100, "excellent"),  # under min_commands: neutral
        (Observations(True, succeeded=5, failed=5), 70, "warning"),  # 50% success: all 30 success points
        (Observations(True, succeeded=10, time_costs=(30.0,) * 10), 87, "good"),  # slow: all avg points, 1/3 of p90
        (Observations(True, callbacks=10, usual_callbacks=30), 92, "excellent"),  # a third of usual
        (Observations(True, callbacks=0, usual_callbacks=4), 100, "excellent"),  # usually quiet: neutral
        (Observations(True, rate_limit_hits=10), 90, "excellent"),
        (Observations(True, rate_limit_hits=None), 100, "excellent"),  # not recorded: neutral
    ],
)
def test_scores_and_bands(obs: Observations, want_score: int, want_status: str) -> None:
    got = score(obs, RULES)
    assert (got.score, got.status) == (want_score, want_status)


def test_recommendations_name_the_cause_worst_first() -> None:
    silent = score(SILENT, RULES)
    assert silent.recommendations == (
        "近1小时12条指令无结果回调，请检查手机端WorkTool是否在前台运行",
        "近1小时只收到0条消息回调（该时段通常约30条），请检查回调地址和手机端WorkTool",
    )
    assert score(FLAPPING, RULES).recommendations[0] == "近1小时离线3次，请检查网络/电量"
    assert score(HEALTHY, RULES).recommendations == ()
    parts = {c.name: c for c in silent.components}
    assert parts["unknown"].lost == 60
    assert parts["unknown"].facts["unknown"] == 12
    assert parts["budget"].neutral
    assert parts["latency_avg"].neutral


def test_helpers() -> None:
    assert count_flaps([True, False, False, True, False], before=None) == 2
    assert count_flaps([False, None, False], before=False) == 0  # was already offline
    assert count_flaps([None, False], before=True) == 1
    assert p90([1.0] * 9 + [50.0]) == 1.0
    assert p90([1.0] * 8 + [50.0, 60.0]) == 50.0
    assert (window_text(60), window_text(120), window_text(30)) == ("1小时", "2小时", "30分钟")
    assert Ramp(good=0.95, bad=0.5).marks(0.725) == pytest.approx(0.5)
    assert Ramp(good=5, bad=30).marks(40) == 0.0


def _rules_dir(tmp_path: Path, health: str) -> Path:
    directory = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", directory)
    (directory / "health.yaml").write_text(health, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("bands: {excellent: 50, good: 75}\n", "health.yaml:1: bands: Value error, bands must satisfy"),
        ("window_minutes: 60\nflaps:\n  ramp: {good: 2, bad: 2}\n", "health.yaml:3: flaps.ramp: Value error"),
        ("unknown:\n  advice: 近{hours}条\n", "unknown advice '近{hours}条': bad placeholder 'hours'"),
        (
            "examples:\n  - {name: 健康, expect: critical}\n",
            "health.yaml:2: examples.0: «健康» scores 100 (excellent), not critical",
        ),
    ],
)
def test_a_bad_health_file_is_refused_with_file_and_line(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(RuleFileError) as caught:
        load_ruleset(_rules_dir(tmp_path, text))
    assert error in str(caught.value)


def test_the_shipped_file_loads_and_a_partial_file_keeps_the_defaults(tmp_path: Path) -> None:
    shipped = load_ruleset(ROOT / "rules")
    assert shipped.health.unknown.weight == 60
    assert len(shipped.health.examples) >= 3
    directory = _rules_dir(tmp_path, "window_minutes: 30\n")
    assert load_ruleset(directory).health.window_minutes == 30
    assert load_ruleset(directory).health.unknown.weight == 60


async def test_the_rule_store_reloads_a_changed_health_file_and_keeps_the_running_one_on_error(
    tmp_path: Path,
) -> None:
    directory = _rules_dir(tmp_path, "window_minutes: 60\n")
    store = RuleStore(directory)
    (directory / "health.yaml").write_text("window_minutes: 30\n", encoding="utf-8")
    applied = await store.reload("test")
    assert (applied.applied, applied.diff) == (True, "health changed")
    assert store.current.health.window_minutes == 30
    (directory / "health.yaml").write_text("window_minutes: 30\nbands: {warning: 99}\n", encoding="utf-8")
    refused = await store.reload("test")
    assert not refused.applied
    assert "health.yaml:2: bands: Value error, bands must satisfy" in str(refused.error)
    assert store.current.health.window_minutes == 30
