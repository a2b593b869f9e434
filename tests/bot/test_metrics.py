"""Multiprocess mode: what two processes count into one PROMETHEUS_MULTIPROC_DIR, one scrape shows summed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.api.metrics import render
from bot.metrics import MULTIPROC_ENV, reset_multiproc_dir

# What a server (a callback, a batch) and a worker (a processed message, a notification) count.
WORK = """
from datetime import UTC, datetime, timedelta
from bot import metrics
metrics.CALLBACKS.labels("message", "2xx").inc()
metrics.count_verdict("new")
metrics.observe_batch(3, 0.01)
now = datetime(2026, 12, 1, tzinfo=UTC)
metrics.observe_processed(now, [now - timedelta(seconds=2)])
metrics.count_notifications("sms", "failed")
"""


def test_two_processes_writing_one_directory_are_summed_in_one_scrape(tmp_path: Path) -> None:
    directory = reset_multiproc_dir(tmp_path / "metrics")
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    processes = [subprocess.Popen([sys.executable, "-c", WORK], env=env) for _ in range(2)]
    assert [process.wait(timeout=60) for process in processes] == [0, 0]
    assert len(list(directory.glob("*.db"))) >= 4  # a counter and a histogram file per process

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(render([], str(directory)).decode())
        for sample in family.samples
    }
    assert samples[("hub_callbacks_total", (("kind", "message"), ("outcome", "2xx")))] == 2
    assert samples[("hub_dedup_verdicts_total", (("verdict", "new"),))] == 2
    assert samples[("hub_ingest_batch_size_sum", ())] == 6
    assert samples[("hub_processing_latency_seconds_count", ())] == 2
    assert samples[("hub_processing_latency_seconds_sum", ())] == 4
    assert samples[("hub_notifications_total", (("channel", "sms"), ("status", "failed")))] == 2

    assert reset_multiproc_dir(directory) == directory  # hub run's wipe at start
    assert list(directory.iterdir()) == []
