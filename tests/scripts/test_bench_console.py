"""The console benchmark still runs end to end (a quick smoke run; the figures come from `make bench-console`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_quick_benchmark_run_times_every_page() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/bench_console.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output  # 1 = a page over the limit (see OVER)
    assert "== console pages on SQLite: 500 messages, 50 alerts, 1 loads each" in output, output
    for page in ("/board ", "/alerts?status=all", "/conversations/group", "/robots", "/reports?date=", "/rules"):
        assert f"\n{page}" in output, (page, output)
    assert "/export.csv" in output, output
