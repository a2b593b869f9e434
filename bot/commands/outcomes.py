"""Telling the caller how its command ended: listeners per purpose, run in the worker.

A result can be recorded by any process (the web process matches result callbacks, the worker polls
`rawMsg/list` and gives up on silent commands), but listeners — the alert deliverer, the report
delivery — live in the worker. So the status change itself carries the news: for a purpose with
listeners, the same UPDATE that records the status sets `commands.outcome_due` (`outcome_fields`);
`notify` then enqueues the outcome job, and the worker's job runs the listeners and clears the flag
unless the status changed meanwhile (a late result after `unknown` is news again). If Redis is down or
a worker dies, the sweeper finds the flag and enqueues the job again: nothing depends on which process
recorded the result, or on Redis being up at that moment.

Listeners must be idempotent (a job can run twice) and must not raise: failures are logged and the flag
stays set, so the sweeper tries again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from bot.job_names import OUTCOME_JOB
from bot.metrics import observe_command
from models.commands import Command, CommandStatus

log = structlog.get_logger(__name__)
Listener = Callable[[Command, CommandStatus], Awaitable[None]]

# The purposes whose commands have listeners (registered in the worker); declared here because the
# process that records a result must know whether to flag it, and it may have no listeners itself.
LISTENED_PURPOSES: Final = frozenset({"alert", "report"})
FINAL_STATUSES: Final = (CommandStatus.SUCCEEDED, CommandStatus.FAILED, CommandStatus.UNKNOWN)
SWEEP_GRACE: Final = timedelta(seconds=5)  # a job enqueued at the change normally runs within this
SWEEP_BATCH: Final = 200


def outcome_fields(purpose: str) -> dict[str, Any]:
    """Extra fields for the UPDATE that moves a command to a final status."""
    return {"outcome_due": True} if purpose in LISTENED_PURPOSES else {}


class Outcomes:
    def __init__(self, redis: ArqRedis | None) -> None:
        self._redis = redis
        self._listeners: defaultdict[str, list[Listener]] = defaultdict(list)

    def listen(self, purpose: str, listener: Listener) -> None:
        if purpose not in LISTENED_PURPOSES:
            raise ValueError(f"purpose {purpose!r} is not in LISTENED_PURPOSES: its outcomes would never be flagged")
        self._listeners[purpose].append(listener)

    async def notify(self, command: Command, status: CommandStatus) -> None:
        """After the status change is committed: log it, and wake the worker's outcome job."""
        emit = log.info if status is CommandStatus.SUCCEEDED else log.warning
        emit(
            "command outcome",
            command_id=command.id,
            robot_id=command.robot_id,
            conversation_id=command.conversation_id,
            purpose=command.purpose,
            status=status.value,
            error_code=command.error_code,
            error=command.error_reason,
        )
        with_result = status in (CommandStatus.SUCCEEDED, CommandStatus.FAILED) and command.result_source is not None
        observe_command(status.value, command.robot_id, command.sent_at, command.finished_at, with_result=with_result)
        if command.purpose in LISTENED_PURPOSES:
            await self._enqueue(command.id, status)

    async def _enqueue(self, command_id: int, status: CommandStatus) -> bool:
        if self._redis is None:
            return False
        try:
            await self._redis.enqueue_job(OUTCOME_JOB, command_id, _job_id=f"outcome:{command_id}:{status.value}")
        except (RedisError, OSError) as exc:  # the flag is in the database: the sweeper enqueues it later
            log.warning("outcome job not enqueued; the sweeper will", command_id=command_id, error=str(exc))
            return False
        return True

    async def deliver(self, command_id: int) -> bool:
        """The worker's job: run the listeners for the command's current status, then clear its flag.
        Returns whether listeners ran."""
        command = await Command.get_or_none(id=command_id)
        if command is None or not command.outcome_due or command.status not in FINAL_STATUSES:
            return False
        status = command.status
        failed = False
        for listener in self._listeners.get(command.purpose, ()):
            try:
                await listener(command, status)
            except Exception:
                failed = True
                log.exception("command outcome listener failed", command_id=command.id, purpose=command.purpose)
        if not failed:
            await Command.filter(id=command.id, status=status, outcome_due=True).update(outcome_due=False)
        return True

    async def sweep(self, now: datetime) -> int:
        """Cron: enqueue outcome jobs that a lost Redis or a killed worker left flagged."""
        due = (
            await Command.filter(outcome_due=True, finished_at__lte=now - SWEEP_GRACE)
            .order_by("finished_at")
            .limit(SWEEP_BATCH)
            .values_list("id", "status")
        )
        enqueued = 0
        for command_id, status in due:
            enqueued += await self._enqueue(int(command_id), CommandStatus(status))
        if due:
            log.info("outcome jobs re-enqueued", flagged=len(due), enqueued=enqueued)
        return enqueued
