"""Recording how commands ended: result callbacks, the 60-second check and its rawMsg/list fallback.

WorkTool fires a result callback once and never retries it, one per command of a request, all with the
request's messageId. If none came by `result_due_at`, the check polls `rawMsg/list`; still nothing →
`unknown`: the robot is penalised, the caller is told, and nothing is re-sent. Every change is a
conditional update, so a check that runs twice, or a result that races the check, does no harm; a
result that arrives after `unknown` is still recorded (marked late).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from tortoise.expressions import F

from bot.callbacks.payloads import ResultCallback
from bot.commands.outcomes import Outcomes, outcome_fields
from bot.worktool.client import WorkToolClient, WorkToolError
from bot.worktool.protocol import ExecutedCommand, RawMessageRecord, parse_raw_msg
from models.callbacks import ResultCallback as ResultRow
from models.commands import RESOLVABLE_STATUSES, Command, CommandStatus
from models.robots import Robot

log = structlog.get_logger(__name__)
MAX_CHECK_BATCH = 500


@dataclass(frozen=True)
class Outcome:
    success: bool
    error_code: int | None
    error_reason: str
    time_cost_s: float | None
    success_list: list[str] | None
    fail_list: list[str] | None
    source: str  # callback | poll


def pick_command(commands: Sequence[Command], executed: ExecutedCommand | None, type_: int | None) -> Command | None:
    """Which command of a request a result is about: the same text and target, else the same type,
    else the first still open. Resolved commands are picked only to recognise a repeated result."""
    if not commands:
        return None
    open_ = [c for c in commands if c.status in RESOLVABLE_STATUSES]
    for pool in (open_, list(commands)):
        if executed is not None:
            for command in pool:
                same_text = executed.received_content is not None and executed.received_content == command.content
                same_target = not executed.title_list or executed.title_list[0] == command.target
                if same_text and same_target:
                    return command
        if type_ is not None:
            for command in pool:
                if command.type == type_:
                    return command
        if pool:
            return pool[0]
    return None  # pragma: no cover - commands is not empty


async def apply_outcome(command: Command, outcome: Outcome, now: datetime, outcomes: Outcomes) -> bool:
    """Record the result if the command is still waiting for one (or was given up as unknown)."""
    status = CommandStatus.SUCCEEDED if outcome.success else CommandStatus.FAILED
    late = command.status is CommandStatus.UNKNOWN or (
        command.result_due_at is not None and now > command.result_due_at
    )
    changed = await Command.filter(id=command.id, status__in=list(RESOLVABLE_STATUSES)).update(
        status=status,
        finished_at=now,
        error_code=outcome.error_code,
        error_reason=outcome.error_reason or None,
        time_cost_s=outcome.time_cost_s,
        success_list=outcome.success_list,
        fail_list=outcome.fail_list,
        result_source=outcome.source,
        late=late,
        **outcome_fields(command.purpose),
    )
    if not changed:
        log.info("repeated result ignored", command_id=command.id, status=command.status.value)
        return False
    if late:
        log.warning("late result recorded", command_id=command.id, robot_id=command.robot_id, status=status.value)
    await command.refresh_from_db()
    await outcomes.notify(command, status)
    return True


def outcome_of_callback(payload: dict[str, Any]) -> tuple[Outcome | None, ExecutedCommand | None, int | None]:
    """The outcome a stored callback reports; None when its errorCode is missing or unreadable (then the
    result check decides, from rawMsg/list or as unknown)."""
    result = ResultCallback.model_validate(payload)
    if result.error_code is None:
        return None, parse_raw_msg(result.raw_msg), result.type
    outcome = Outcome(
        success=result.error_code == 0,
        error_code=result.error_code,
        error_reason=result.error_reason,
        time_cost_s=result.time_cost,
        success_list=result.success_list,
        fail_list=result.fail_list,
        source="callback",
    )
    return outcome, parse_raw_msg(result.raw_msg), result.type


async def match_result(row: ResultRow, now: datetime, outcomes: Outcomes) -> Command | None:
    """Apply a stored result callback to its command. Unmatched rows stay unhandled: the dispatcher
    (after it stores the messageId) and the sweeper try again."""
    if not row.message_id:
        await ResultRow.filter(id=row.id).update(handled_at=now)
        log.warning("result callback without messageId kept unmatched", result_id=row.id, robot_id=row.robot_id)
        return None
    commands = await Command.filter(robot_id=row.robot_id, worktool_message_id=row.message_id).order_by(
        "batch_index", "id"
    )
    outcome, executed, type_ = outcome_of_callback(row.payload)
    command = pick_command(commands, executed, type_)
    if command is None:
        return None
    if outcome is None:
        log.warning("result callback without a readable errorCode; the result check decides", result_id=row.id)
    else:
        await apply_outcome(command, outcome, now, outcomes)
    await ResultRow.filter(id=row.id).update(handled_at=now, command_id=command.id)
    return command


async def match_stored_results(robot_id: str, message_id: str, now: datetime, outcomes: Outcomes) -> int:
    """Results that arrived before the dispatcher had stored their messageId."""
    rows = await ResultRow.filter(robot_id=robot_id, message_id=message_id, handled_at__isnull=True).order_by("id")
    matched = 0
    for row in rows:
        matched += await match_result(row, now, outcomes) is not None
    return matched


def _outcome_of_record(record: RawMessageRecord) -> Outcome:
    return Outcome(
        success=record.raw_success == 0,
        error_code=0 if record.raw_success == 0 else None,
        error_reason=record.error_reason,
        time_cost_s=record.time_cost,
        success_list=record.success_list,
        fail_list=record.fail_list,
        source="poll",
    )


async def check_results(client: WorkToolClient | None, now: datetime, outcomes: Outcomes) -> int:
    """The 60-second rule for every command past its due time; returns how many became unknown."""
    due = await Command.filter(status=CommandStatus.SENT, result_due_at__lte=now).order_by("id").limit(MAX_CHECK_BATCH)
    batches: defaultdict[tuple[str, str | None], list[Command]] = defaultdict(list)
    for command in due:
        batches[(command.robot_id, command.worktool_message_id)].append(command)
    unknown = 0
    for (robot_id, message_id), commands in batches.items():
        if message_id and client is not None:
            await _poll(client, (robot_id, message_id), commands, now, outcomes)
        for command in commands:
            unknown += await _give_up(command, now, outcomes)
    return unknown


async def _poll(
    client: WorkToolClient, batch: tuple[str, str], commands: list[Command], now: datetime, outcomes: Outcomes
) -> None:
    robot_id, message_id = batch
    try:
        records = await client.raw_messages(robot_id, message_id)
    except WorkToolError as exc:
        log.warning("rawMsg/list poll failed", robot_id=robot_id, command_message_id=message_id, error=str(exc))
        return
    for record in records:
        command = pick_command(
            [c for c in commands if c.status is CommandStatus.SENT], parse_raw_msg(record.raw_msg), record.type
        )
        if command is not None and await apply_outcome(command, _outcome_of_record(record), now, outcomes):
            command.status = CommandStatus.SUCCEEDED if record.raw_success == 0 else CommandStatus.FAILED


async def _give_up(command: Command, now: datetime, outcomes: Outcomes) -> int:
    if command.status is not CommandStatus.SENT:
        return 0
    reason = "no result within the timeout" + (
        " and none in rawMsg/list" if command.worktool_message_id else " (WorkTool never confirmed the request)"
    )
    changed = await Command.filter(id=command.id, status=CommandStatus.SENT).update(
        status=CommandStatus.UNKNOWN, finished_at=now, error_reason=reason, **outcome_fields(command.purpose)
    )
    if not changed:
        return 0
    await Robot.filter(id=command.robot_id).update(unknown_results=F("unknown_results") + 1, last_unknown_at=now)
    log.warning("command result unknown; not re-sent", command_id=command.id, robot_id=command.robot_id)
    await command.refresh_from_db()
    await outcomes.notify(command, CommandStatus.UNKNOWN)
    return 1
