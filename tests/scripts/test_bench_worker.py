"""The worker benchmark still runs end to end (a short smoke run on SQLite; the figures come from
`make bench-worker`)."""

from __future__ import annotations

import pytest

from scripts.bench_worker import USER_MIX, callbacks, corpus
from tests.scripts.running import run_script


def test_the_mix_has_every_kind_of_message() -> None:
    pools = corpus()
    assert all(pools[pool] for pool in [*USER_MIX, "staff"])
    bodies = callbacks(300, seed=1, prefix="t")
    assert len(bodies) == 300
    assert len(set(bodies)) == 300  # every messageId its own
    assert sum(b'"atMe": true' in b for b in bodies) > 30


@pytest.mark.slow
def test_quick_benchmark_run_drains_the_backlog() -> None:
    output = run_script("scripts/bench_worker.py", "--quick")
    assert "rule engine alone (the floor):" in output, output
    assert "1 worker(s):" in output, output
    assert "ms worker CPU/msg  (200 in" in output, output
