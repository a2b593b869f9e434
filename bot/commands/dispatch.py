"""Sending a robot's queued commands, paced, each request at most once.

One dispatcher per robot at a time (a Redis lock). It sends when pacing allows, else schedules itself
for the robot's next slot and returns (no sleeping in jobs). A batch is marked `sent` in a committed
transaction *before* the request goes out: if the process dies mid-request the commands stay `sent`,
the 60-second check finds no result and marks them `unknown` — never a second send. Only a request
that provably did not reach WorkTool puts its commands back in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from arq.connections import ArqRedis
from redis.asyncio.lock import Lock
from tortoise.expressions import F

from bot.clock import Clock
from bot.commands.outcomes import Outcomes, outcome_fields
from bot.commands.pacing import MINUTE, RobotSends, next_send_at
from bot.commands.results import match_stored_results
from bot.locks import Turn, work_exclusively
from bot.queue import enqueue_dispatch, enqueue_result_check
from bot.settings import Settings
from bot.worktool.client import DeliveryUnknown, NotDelivered, Rejected, WorkToolClient
from bot.worktool.protocol import MAX_COMMANDS_PER_REQUEST, TEXT, file_command, text_command
from models.commands import Command, CommandStatus
from models.conversations import Conversation

log = structlog.get_logger(__name__)
LOCK_TTL_S = 60


@dataclass(frozen=True)
class CommandDeps:
    settings: Settings
    redis: ArqRedis
    clock: Clock
    client: WorkToolClient | None
    outcomes: Outcomes


def payload_of(command: Command) -> dict[str, Any]:
    if command.type == TEXT:
        return text_command(command.target, command.content, list(command.at_list))
    return file_command(command.target, dict(command.extra))


async def robot_sends(robot_id: str, now: datetime) -> RobotSends:
    last = await Command.filter(robot_id=robot_id, sent_at__isnull=False).order_by("-sent_at", "-id").first()
    recent = await Command.filter(robot_id=robot_id, sent_at__gt=now - MINUTE).values_list("sent_at", flat=True)
    return RobotSends(
        last_command_id=last.id if last else None,
        last_sent_at=last.sent_at if last else None,
        sent_last_minute=list(recent),  # type: ignore[arg-type]
    )


async def dispatch_robot(deps: CommandDeps, robot_id: str) -> int:
    """Send what the robot may send now; returns the number of commands sent."""
    total = 0

    async def turn(_lock: Lock) -> Turn:
        nonlocal total
        sent, outcome = await _dispatch_step(deps, robot_id)
        total += sent
        return outcome

    async def pending() -> bool:
        return await Command.exists(robot_id=robot_id, status=CommandStatus.QUEUED)

    await work_exclusively(deps.redis, f"hub:lock:dispatch:{robot_id}", LOCK_TTL_S, turn, pending)
    return total


async def _dispatch_step(deps: CommandDeps, robot_id: str) -> tuple[int, Turn]:
    now = deps.clock.now()
    queued = (
        await Command.filter(robot_id=robot_id, status=CommandStatus.QUEUED)
        .order_by("id")
        .limit(MAX_COMMANDS_PER_REQUEST)
    )
    if not queued:
        return 0, Turn.IDLE
    ready = [c for c in queued if c.next_attempt_at is None or c.next_attempt_at <= now]
    if not ready:
        await enqueue_dispatch(deps.redis, robot_id, min(c.next_attempt_at for c in queued if c.next_attempt_at), now)
        return 0, Turn.PAUSE
    due = next_send_at(await robot_sends(robot_id, now), now, deps.settings.worktool.pacing)
    if due > now:
        await enqueue_dispatch(deps.redis, robot_id, due, now)
        return 0, Turn.PAUSE
    # The parts of one logical message go out together, in order.
    batch = [c for c in ready if c.reply_key == ready[0].reply_key]
    if await _dropped_for_takeover(deps, robot_id, batch, now):
        return 0, Turn.MORE
    return await send_batch(deps, robot_id, batch, now), Turn.MORE


async def _paused_until(command: Command, now: datetime) -> datetime | None:
    """For a bot reply: until when staff have taken its conversation over (None if they have not)."""
    if command.purpose != "reply" or command.conversation_id is None:
        return None
    conversation = await Conversation.get_or_none(id=command.conversation_id)
    if conversation is None or conversation.bot_paused_until is None or conversation.bot_paused_until <= now:
        return None
    return conversation.bot_paused_until


async def _dropped_for_takeover(deps: CommandDeps, robot_id: str, batch: list[Command], now: datetime) -> bool:
    """Re-checked right before sending: staff may have stepped in after the reply was queued."""
    paused = await _paused_until(batch[0], now)
    if paused is None:
        return False
    reason = f"not sent: staff took the conversation over (bot paused until {paused.isoformat()})"
    for command in batch:
        if await Command.filter(id=command.id, status=CommandStatus.QUEUED).update(
            status=CommandStatus.FAILED, finished_at=now, error_reason=reason, **outcome_fields(command.purpose)
        ):
            await command.refresh_from_db()
            await deps.outcomes.notify(command, CommandStatus.FAILED)
    log.info("bot reply dropped: staff took over", robot_id=robot_id, command_ids=[c.id for c in batch])
    return True


async def send_batch(deps: CommandDeps, robot_id: str, batch: list[Command], now: datetime) -> int:
    ids = [c.id for c in batch]
    due_at = now + timedelta(seconds=deps.settings.worktool.result_timeout_s)
    claimed = await Command.filter(id__in=ids, status=CommandStatus.QUEUED).update(
        status=CommandStatus.SENT, sent_at=now, result_due_at=due_at, send_attempts=F("send_attempts") + 1
    )
    if claimed != len(ids):  # cannot happen under the lock; never send what we did not claim
        log.error("commands changed under the dispatcher; batch skipped", command_ids=ids, claimed=claimed)
        return 0
    if deps.client is None:
        await _failed(deps, batch, now, None, "no WorkTool API configured (worktool.api_base)")
        return 0
    try:
        message_id = await deps.client.send_raw(robot_id, [payload_of(c) for c in batch])
    except NotDelivered as exc:
        await _not_delivered(deps, robot_id, batch, now, str(exc))
        return 0
    except Rejected as exc:
        await _failed(deps, batch, now, exc.code, exc.reason or str(exc))
        return 0
    except DeliveryUnknown as exc:
        # It may have reached WorkTool: leave it `sent`; the check at the due time decides.
        log.warning(
            "send outcome unknown; waiting for the result check", robot_id=robot_id, command_ids=ids, error=str(exc)
        )
        await Command.filter(id__in=ids).update(error_reason=f"send request outcome unknown: {exc}")
        await enqueue_result_check(deps.redis, due_at, now, f"{ids[0]}")
        return len(ids)
    for index, command in enumerate(batch):
        await Command.filter(id=command.id).update(worktool_message_id=message_id, batch_index=index)
    log.info("commands sent", robot_id=robot_id, command_ids=ids, command_message_id=message_id)
    await enqueue_result_check(deps.redis, due_at, now, f"{ids[0]}")
    await match_stored_results(robot_id, message_id, deps.clock.now(), deps.outcomes)
    return len(ids)


async def _not_delivered(deps: CommandDeps, robot_id: str, batch: list[Command], now: datetime, error: str) -> None:
    pacing = deps.settings.worktool.pacing
    attempts = batch[0].send_attempts + 1
    ids = [c.id for c in batch]
    if attempts >= pacing.max_send_attempts:
        await _failed(deps, batch, now, None, f"not delivered after {attempts} attempts: {error}")
        return
    retry_at = now + timedelta(seconds=pacing.retry_after_s * attempts)
    await Command.filter(id__in=ids, status=CommandStatus.SENT).update(
        status=CommandStatus.QUEUED, sent_at=None, result_due_at=None, next_attempt_at=retry_at, error_reason=error
    )
    log.warning("request did not reach WorkTool; queued again", robot_id=robot_id, command_ids=ids, retry_at=retry_at)
    await enqueue_dispatch(deps.redis, robot_id, retry_at, now)


async def _failed(deps: CommandDeps, batch: list[Command], now: datetime, code: int | None, reason: str) -> None:
    for command in batch:
        changed = await Command.filter(id=command.id, status=CommandStatus.SENT).update(
            status=CommandStatus.FAILED,
            finished_at=now,
            error_code=code,
            error_reason=reason,
            **outcome_fields(command.purpose),
        )
        if changed:
            await command.refresh_from_db()
            await deps.outcomes.notify(command, CommandStatus.FAILED)
