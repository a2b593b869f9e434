"""The worker benchmark still runs end to end (a short smoke run on SQLite; the figures come from
`make bench-worker`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts.bench_worker import USER_MIX, callbacks, corpus
from tests.conftest import REPO


def test_the_mix_has_every_kind_of_message() -> None:
    pools = corpus()
    assert all(pools[pool] for pool in [*USER_MIX, "staff"])
    bodies = callbacks(300, seed=1, prefix="t")
    assert len(bodies) == 300
    assert len(set(bodies)) == 300  # every messageId its own
    assert sum(b'"atMe": true' in b for b in bodies) > 30


@pytest.mark.slow
def test_quick_benchmark_run_drains_the_backlog() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/bench_worker.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output  # 1 = a speed target missed on a short, loaded run
    assert "rule engine alone (the floor):" in output, output
    assert "1 worker(s):" in output, output
    assert "ms worker CPU/msg  (200 in" in output, output
