"""Stopping the worker: a cancellation the main loop swallows must not keep it running."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from jobs.worker import stop_on_signal


class SwallowingWorker:
    """Stands in for arq's Worker: its main loop swallows the first cancel, as redis-py sometimes does."""

    def __init__(self) -> None:
        self.main_task: asyncio.Task[None] | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.allow_pick_jobs = True
        self.cancels_swallowed = 0
        self.signals: list[signal.Signals] = []

    async def main(self) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if self.cancels_swallowed == 0:
                    self.cancels_swallowed += 1
                    continue
                raise

    def handle_sig(self, sig: signal.Signals) -> None:
        self.signals.append(sig)
        for task in self.tasks.values():
            task.cancel()
        assert self.main_task is not None
        self.main_task.cancel()


async def test_a_swallowed_cancel_is_repeated_until_the_main_loop_ends() -> None:
    worker = SwallowingWorker()
    worker.main_task = asyncio.create_task(worker.main())
    await asyncio.sleep(0)
    armed: list[tuple[float, str]] = []
    fake: Any = worker
    stop_on_signal(fake, signal.SIGTERM, arm_watchdog=lambda s, what: armed.append((s, what)))
    done, _ = await asyncio.wait({worker.main_task}, timeout=5)
    assert done == {worker.main_task}
    assert worker.main_task.cancelled()
    assert worker.cancels_swallowed == 1
    assert worker.signals == [signal.SIGTERM]
    assert armed
    assert armed[0][1] == "the worker"


async def test_running_jobs_get_a_grace_period_then_are_cancelled() -> None:
    worker = SwallowingWorker()
    worker.main_task = asyncio.create_task(worker.main())
    quick = asyncio.create_task(asyncio.sleep(0.05))
    stuck = asyncio.create_task(asyncio.sleep(3600))
    worker.tasks = {"quick": quick, "stuck": stuck}
    fake: Any = worker
    stopping = stop_on_signal(fake, signal.SIGTERM, arm_watchdog=lambda s, w: None, grace_s=0.3)
    await asyncio.sleep(0.1)
    assert worker.allow_pick_jobs is False
    assert quick.done()
    assert not quick.cancelled()
    assert worker.signals == []  # nothing cancelled yet
    await stopping
    assert stuck.cancelled() or stuck.cancelling()
    assert worker.signals == [signal.SIGTERM]
    done, _ = await asyncio.wait({worker.main_task}, timeout=5)
    assert done == {worker.main_task}
