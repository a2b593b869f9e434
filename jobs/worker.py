"""The arq worker, built from the same settings and builders as the web app."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from arq import cron, func
from arq.worker import Worker

from bot.clock import Clock, SystemClock
from bot.job_names import (
    CHECK_RESULTS_JOB,
    DELIVER_JOB,
    DISPATCH_JOB,
    DISPATCH_QUEUE,
    OUTCOME_JOB,
    PROCESS_JOB,
    STEP_JOB,
    TASK_CHECK_JOB,
)
from bot.queue import sweep
from bot.runtime import Runtime, build_runtime, log_alert_channels
from bot.settings import Settings
from bot.shutdown import arm_exit_watchdog
from handlers.pipeline import Services, Step
from handlers.steps import FULL_STEPS
from jobs.alerts import alert_step_job, deliver_alerts_job, sweep_alerts
from jobs.commands import (
    check_results_job,
    command_outcome_job,
    dispatch_robot_job,
    poll_robots_online,
    sweep_commands,
)
from jobs.health import check_robot_health
from jobs.outages import (
    HubWorker,
    database_when_up,
    keep_running,
    retry_when_database_down,
    skip_when_database_down,
)
from jobs.processing import WorkerDeps, process_conversations
from jobs.reports import daily_report_job
from jobs.tasks import sweep_tasks, task_response_check_job

log = structlog.get_logger(__name__)
SHUTDOWN_LIMIT_S = 15.0
RECANCEL_AFTER_S = 0.5
JOB_GRACE_S = 8.0  # < SHUTDOWN_LIMIT_S


async def sweep_pending(ctx: dict[str, Any]) -> int:
    """Cron: re-enqueue conversations with pending messages (lost Redis, killed worker, failed retries)."""
    deps: WorkerDeps = ctx["deps"]
    grace = timedelta(seconds=deps.settings.ingest.sweep_grace_s)
    return await sweep(deps.redis, deps.clock.now(), grace)


def worker_deps(rt: Runtime, steps: tuple[Step, ...] = FULL_STEPS) -> WorkerDeps:
    """The worker's view of the runtime: with alerts disabled, neither messages nor tasks (a user's
    timeout, an overdue task) open any, and no alert job runs."""
    enabled = rt.settings.alerts.enabled
    tasks = rt.tasks if enabled else rt.tasks.without_alerts()
    services = Services(rt.settings, rt.rules, rt.commands, rt.llm, rt.alerts if enabled else None, tasks)
    return WorkerDeps(
        rt.settings,
        rt.directory,
        rt.redis,
        rt.clock,
        steps,
        commands=rt.dispatch,
        services=services,
        deliverer=rt.deliverer if enabled else None,
    )


def build_worker(deps: WorkerDeps, *, burst: bool = False) -> HubWorker:
    every_10_s = set(range(0, 60, 10))
    functions = [
        func(process_conversations, name=PROCESS_JOB, keep_result=0, max_tries=5, timeout=120),
        func(dispatch_robot_job, name=DISPATCH_JOB, keep_result=0, max_tries=5, timeout=120),
        func(check_results_job, name=CHECK_RESULTS_JOB, keep_result=0, max_tries=5, timeout=120),
        func(command_outcome_job, name=OUTCOME_JOB, keep_result=0, max_tries=5, timeout=120),
    ]
    cron_jobs = [
        cron(sweep_pending, second=every_10_s, run_at_startup=True, keep_result=0),
        cron(sweep_commands, second=every_10_s, run_at_startup=True, keep_result=0),
        cron(poll_robots_online, second=every_10_s, run_at_startup=True, keep_result=0, timeout=60),
        cron(daily_report_job, second=0, run_at_startup=True, keep_result=0, timeout=50),
        cron(check_robot_health, second=20, run_at_startup=True, keep_result=0, timeout=50),
    ]
    if deps.deliverer is not None:
        functions += [
            func(alert_step_job, name=STEP_JOB, keep_result=0, max_tries=5, timeout=60),
            func(deliver_alerts_job, name=DELIVER_JOB, keep_result=0, max_tries=5, timeout=120),
        ]
        every_5_s = set(range(0, 60, 5))
        cron_jobs.append(cron(sweep_alerts, second=every_5_s, run_at_startup=True, keep_result=0, timeout=60))
    if deps.services is not None and deps.services.tasks is not None:
        functions.append(func(task_response_check_job, name=TASK_CHECK_JOB, keep_result=0, max_tries=5, timeout=60))
        cron_jobs.append(cron(sweep_tasks, second={3, 33}, run_at_startup=True, keep_result=0, timeout=120))
    return _hub_worker(
        deps,
        burst,
        functions=[retry_when_database_down(f) for f in functions],
        cron_jobs=[skip_when_database_down(c) for c in cron_jobs],
    )


def build_dispatch_worker(deps: WorkerDeps, *, burst: bool = False) -> HubWorker:
    """The sends' own poll loop, on `DISPATCH_QUEUE` with job slots of its own: arq starts a queue's jobs
    in order, each waiting for a free slot, so in the one queue a robot's dispatch waited behind every
    processing job enqueued before it (replies 26-58 s late at 500 msgs/s). The main worker still runs
    a dispatch job left in the default queue (enqueued by an older version)."""
    function = func(dispatch_robot_job, name=DISPATCH_JOB, keep_result=0, max_tries=5, timeout=120)
    return _hub_worker(deps, burst, functions=[retry_when_database_down(function)], queue_name=DISPATCH_QUEUE)


def _hub_worker(deps: WorkerDeps, burst: bool, **jobs: Any) -> HubWorker:
    """A poll loop with the settings both loops share; `jobs`: its functions, crons and queue."""
    processing = deps.settings.processing
    return HubWorker(
        **jobs,
        redis_pool=deps.redis,
        ctx={"deps": deps},
        burst=burst,
        handle_signals=False,
        max_jobs=processing.max_jobs,
        poll_delay=processing.poll_delay_s,
        keep_result=0,
        clock=deps.clock,
        heartbeat_s=deps.settings.readiness.worker_heartbeat_s,
    )


def stop_on_signal(
    worker: Worker,
    sig: signal.Signals,
    arm_watchdog: Callable[[float, str], None] = arm_exit_watchdog,
    grace_s: float = JOB_GRACE_S,
) -> asyncio.Task[None]:
    """Stop taking jobs, give running ones `grace_s` to finish (a dispatch cut off mid-request leaves its
    commands `unknown`), then cancel the rest and the main loop — and keep cancelling until it has ended:
    a cancellation that lands while redis-py finishes a read can be swallowed, and the worker then polled
    on as if nothing happened (seen in CI, about 1 stop in 10)."""
    # Armed here and never disarmed: whatever hangs from now on, the process ends with a stack dump.
    arm_watchdog(SHUTDOWN_LIMIT_S, "the worker")
    worker.allow_pick_jobs = False
    loop = asyncio.get_running_loop()

    def cancel_again() -> None:
        if worker.main_task is not None and not worker.main_task.done():
            log.warning("worker main loop survived a cancel; cancelling again")
            worker.main_task.cancel()
            loop.call_later(RECANCEL_AFTER_S, cancel_again)

    async def stop() -> None:
        running = [task for task in worker.tasks.values() if not task.done()]
        if running:
            log.info("waiting for running jobs before stopping", jobs=len(running), grace_s=grace_s)
            await asyncio.wait(running, timeout=grace_s)
        worker.handle_sig(sig)
        loop.call_later(RECANCEL_AFTER_S, cancel_again)

    return loop.create_task(stop(), name="worker-stop")


async def run_worker(settings: Settings, *, burst: bool = False, clock: Clock | None = None) -> None:
    """Run until SIGINT/SIGTERM (or, in burst mode, until the queue is empty)."""
    clock = clock or SystemClock()
    async with database_when_up(settings.database.url), build_runtime(settings, clock) as rt:
        deps = worker_deps(rt)
        if settings.alerts.enabled:
            log_alert_channels(settings)
        worker = build_worker(deps, burst=burst)
        sender = build_dispatch_worker(deps, burst=burst)
        workers = (worker, sender)
        loop = asyncio.get_running_loop()

        def start_sender() -> None:
            sender.main_task = loop.create_task(keep_running(sender, settings.redis.url))
            sender.main_task.add_done_callback(sender_ended)

        def sender_ended(task: asyncio.Task[None]) -> None:
            # Its loop outlives Redis (keep_running): one that ends otherwise ends the worker, to be restarted.
            if not task.cancelled() and task.exception() is not None and worker.main_task is not None:
                log.error("the dispatch loop failed; stopping the worker", error=str(task.exception())[:300])
                worker.main_task.cancel()

        # Not arq's main() alone: it ends on the first Redis error, and the worker must outlive Redis.
        worker.main_task = loop.create_task(keep_running(worker, settings.redis.url))
        if not burst:  # burst: the sends run once processing has drained (below)
            start_sender()
        stopping: list[asyncio.Task[None]] = []  # keeps the stop tasks referenced

        def on_signal(sig: signal.Signals) -> None:
            stopping.extend(stop_on_signal(w, sig) for w in workers if w.main_task is not None)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        log.info("worker started", max_jobs=settings.processing.max_jobs, burst=burst)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await worker.main_task
            if burst and not stopping:
                start_sender()
            if sender.main_task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await sender.main_task
        finally:
            if burst:
                arm_exit_watchdog(SHUTDOWN_LIMIT_S, "the worker")
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            # Jobs cancelled at the end of the grace period: let them finish cancelling, and keep their
            # CancelledError out of arq's close(), which would raise it and fail the exit code.
            for w in workers:
                await asyncio.gather(*w.tasks.values(), return_exceptions=True)
                w.tasks.clear()
            # Closed here, in the task that opened the database (tortoise hangs otherwise).
            await sender.close()
            await worker.close()
            log.info(
                "worker stopped",
                jobs_complete=worker.jobs_complete + sender.jobs_complete,
                jobs_failed=worker.jobs_failed + sender.jobs_failed,
            )
