"""The load tool still runs the whole stack end to end (a tiny run; the figures come from `make load`)."""

from __future__ import annotations

import pytest

from tests.scripts.running import run_script

pytestmark = pytest.mark.slow


def test_a_tiny_load_run_checks_exactly_once() -> None:
    output = run_script("scripts/load.py", "--servers", "1", "--workers", "1", "--rate", "40", "--duration", "2")
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
