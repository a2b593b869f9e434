"""The ingest benchmark still runs end to end (a short smoke run; the figures come from `make bench`)."""

from __future__ import annotations

import pytest

from tests.scripts.running import run_script

pytestmark = pytest.mark.slow


def test_quick_benchmark_run_loses_nothing() -> None:
    output = run_script("scripts/bench_ingest.py", "--quick", "--no-wrk")
    assert "bare aiohttp handler:" in output
    assert "server CPU per callback:" in output
    assert "PASS  none lost: every acknowledged callback stored once, copies merged" in output, output
