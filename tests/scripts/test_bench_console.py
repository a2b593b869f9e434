"""The console benchmark still runs end to end (a quick smoke run; the figures come from `make bench-console`)."""

from __future__ import annotations

import pytest

from tests.scripts.running import run_script

pytestmark = pytest.mark.slow


def test_quick_benchmark_run_times_every_page() -> None:
    output = run_script("scripts/bench_console.py", "--quick", timeout_s=120)
    assert "== console pages on SQLite: 500 messages, 50 alerts, 1 loads each" in output, output
    for page in ("/board ", "/alerts?status=all", "/conversations/group", "/robots", "/reports?date=", "/rules"):
        assert f"\n{page}" in output, (page, output)
    assert "/export.csv" in output, output
