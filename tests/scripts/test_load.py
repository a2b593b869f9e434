"""The load tool still runs the whole stack end to end (a tiny run; the figures come from `make load`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_a_tiny_load_run_checks_exactly_once() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/load.py", "--servers", "1", "--workers", "1", "--rate", "40", "--duration", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output  # 1 = a latency target missed on a tiny, loaded run
    assert "t=  1." in output  # a progress line a second while it runs
    assert "backlog" in output
    for check in (
        "PASS  every acknowledged message stored once (no loss)",
        "PASS  every message processed",
        "PASS  no callback answered other than 200",
        "PASS  nothing sent twice (simulator's log against the hub's commands)",
    ):
        assert check in output, output
    assert "message->processed: p50" in output
    assert "per process: server0 cpu" in output
