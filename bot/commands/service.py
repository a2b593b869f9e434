"""Queueing outgoing messages: checks, robot choice, splitting, idempotency. Sending is the dispatcher's.

`send_text` is what the pipeline, alerts and the admin API call. It never sends by itself: it writes
`queued` command rows (one per part of a long text) under an idempotency key, then wakes the robot's
dispatcher. Calling it again with the same `reply_key` returns the rows already written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from bot.clock import Clock
from bot.commands.pacing import MINUTE, OutgoingRefused, check_text, group_cap_wait, split_text
from bot.commands.selection import RobotCandidate, choose_robot
from bot.queue import enqueue_dispatch
from bot.settings import RobotRole, Settings
from bot.worktool.protocol import FILE, TEXT
from bot.write_lock import write_transaction
from models.commands import Command, CommandStatus
from models.conversations import Conversation, ConversationRobot
from models.robots import Robot

log = structlog.get_logger(__name__)
UNKNOWN_LOOKBACK = timedelta(hours=1)


class ConversationNotFound(Exception):
    pass


@dataclass(frozen=True)
class FileAttachment:
    """A network file the phone downloads and sends (type 218): no webp; keep it under 10 MB."""

    url: str
    name: str  # with its extension, unique per file (WorkTool's objectName)
    file_type: str = "*"  # image | audio | video | *

    def command_fields(self, text: str) -> dict[str, object]:
        extra: dict[str, object] = {"objectName": self.name, "fileUrl": self.url, "fileType": self.file_type}
        if text:
            extra["extraText"] = text
        return extra


@dataclass(frozen=True)
class OutgoingText:
    """A message for a conversation: text (split when long), or a file with an optional caption."""

    conversation_id: int
    text: str
    reply_key: str  # one logical message: the same key never sends twice
    purpose: str  # reply | manual | alert | after_sales
    requested_by: str
    role: RobotRole = "reply"
    at_list: tuple[str, ...] = ()
    robot_id: str | None = None  # force a robot (still checked)
    file: FileAttachment | None = None


@dataclass(frozen=True)
class Queued:
    robot_id: str
    command_ids: list[int] = field(default_factory=list)
    created: bool = True  # False: the reply_key was already queued, nothing new was written


async def robot_load(now: datetime, conn: BaseDBAsyncClient | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Per robot: commands queued, and commands whose result never came in the last hour."""

    async def count(query: QuerySet[Command]) -> dict[str, int]:
        rows = await query.using_db(conn).group_by("robot_id").annotate(n=Count("id")).values_list("robot_id", "n")
        return {str(robot_id): int(n) for robot_id, n in rows}

    queued = await count(Command.filter(status=CommandStatus.QUEUED))
    unknown = await count(Command.filter(status=CommandStatus.UNKNOWN, finished_at__gte=now - UNKNOWN_LOOKBACK))
    return queued, unknown


async def robot_candidates(
    settings: Settings, conversation_id: int | None, now: datetime, conn: BaseDBAsyncClient | None = None
) -> list[RobotCandidate]:
    """Every configured robot as selection sees it (for no conversation: nothing counts as seen)."""
    rows = {robot.id: robot for robot in await Robot.all().using_db(conn)}
    seen: set[str] = set()
    if conversation_id is not None:
        robot_ids = ConversationRobot.filter(conversation_id=conversation_id).using_db(conn)
        seen = {str(robot_id) for robot_id in await robot_ids.values_list("robot_id", flat=True)}
    queued, unknown = await robot_load(now, conn)
    return [
        RobotCandidate(
            id=robot.id,
            name=robot.name,
            roles=robot.roles,
            shift=robot.shift,
            enabled=row.enabled if (row := rows.get(robot.id)) else True,
            online=row.online if row else None,
            seen_conversation=robot.id in seen,
            recent_unknown=unknown.get(robot.id, 0),
            queued=queued.get(robot.id, 0),
            health_score=row.health_score if row else None,
            health_status=row.health_status if row else None,
        )
        for robot in settings.worktool.robots
    ]


@dataclass
class RobotView:
    """What robot selection reads, read once for a run of sends in one transaction (a chunk of the
    message pipeline) instead of once per send: the robots and their load, and per conversation the
    robots seen there and its commands of the last minute. Sends made through the view are counted in
    as they are queued (in the transaction, nothing else changes what it holds that matters here)."""

    robots: dict[str, Robot]
    queued: dict[str, int]
    unknown: dict[str, int]
    seen: dict[int, set[str]] = field(default_factory=dict)
    recent: dict[int, list[datetime]] = field(default_factory=dict)

    @classmethod
    async def load(cls, now: datetime, conn: BaseDBAsyncClient) -> RobotView:
        queued, unknown = await robot_load(now, conn)
        return cls({robot.id: robot for robot in await Robot.all().using_db(conn)}, queued, unknown)

    async def candidates(
        self, settings: Settings, conversation_id: int, conn: BaseDBAsyncClient
    ) -> list[RobotCandidate]:
        if conversation_id not in self.seen:
            robot_ids = ConversationRobot.filter(conversation_id=conversation_id).using_db(conn)
            self.seen[conversation_id] = {str(r) for r in await robot_ids.values_list("robot_id", flat=True)}
        seen = self.seen[conversation_id]
        return [
            RobotCandidate(
                id=robot.id,
                name=robot.name,
                roles=robot.roles,
                shift=robot.shift,
                enabled=row.enabled if (row := self.robots.get(robot.id)) else True,
                online=row.online if row else None,
                seen_conversation=robot.id in seen,
                recent_unknown=self.unknown.get(robot.id, 0),
                queued=self.queued.get(robot.id, 0),
                health_score=row.health_score if row else None,
                health_status=row.health_status if row else None,
            )
            for robot in settings.worktool.robots
        ]

    async def recent_commands(self, conversation_id: int, now: datetime, conn: BaseDBAsyncClient) -> list[datetime]:
        if conversation_id not in self.recent:
            rows = Command.filter(conversation_id=conversation_id, created_at__gt=now - MINUTE).using_db(conn)
            self.recent[conversation_id] = list(await rows.values_list("created_at", flat=True))  # type: ignore[arg-type]
        return [at for at in self.recent[conversation_id] if at > now - MINUTE]

    def count(self, robot_id: str, conversation_id: int, now: datetime, parts: int) -> None:
        self.queued[robot_id] = self.queued.get(robot_id, 0) + parts
        self.recent.setdefault(conversation_id, []).extend([now] * parts)


class Commands:
    """Queues commands. Shared by the web app and the worker (built by the same builder)."""

    def __init__(self, settings: Settings, redis: ArqRedis, clock: Clock) -> None:
        self._settings = settings
        self._redis = redis
        self._clock = clock
        self._tz = ZoneInfo(settings.timezone)

    @property
    def timezone(self) -> ZoneInfo:
        return self._tz

    async def send_text(
        self, out: OutgoingText, conn: BaseDBAsyncClient | None = None, *, view: RobotView | None = None
    ) -> Queued:
        """Queue the message. With `conn`, inside the caller's transaction: the caller wakes the robot
        (`wake`) after committing, so the reply lands with whatever caused it, or not at all. With `view`
        (in that transaction), robot selection reads it instead of the database."""
        if conn is not None:
            return await self._queue(out, conn, view)
        try:
            async with write_transaction("commands queue") as write:
                tx = write.conn
                queued = await self._queue(out, tx)
        except IntegrityError:  # the same reply_key queued concurrently: that one stands
            existing = await Command.filter(reply_key=out.reply_key).order_by("part")
            return Queued(existing[0].robot_id, [c.id for c in existing], created=False)
        if queued.created:
            await self.wake(queued.robot_id)
        return queued

    async def _queue(self, out: OutgoingText, conn: BaseDBAsyncClient, view: RobotView | None = None) -> Queued:
        existing = await Command.filter(reply_key=out.reply_key).using_db(conn).order_by("part")
        if existing:
            return Queued(existing[0].robot_id, [c.id for c in existing], created=False)
        worktool = self._settings.worktool
        if out.file is None or out.text:
            check_text(out.text, worktool.banned_phrases)
        conversation = await Conversation.filter(id=out.conversation_id).using_db(conn).first()
        if conversation is None:
            raise ConversationNotFound(f"conversation {out.conversation_id} does not exist")
        now = self._clock.now()
        if view is not None:
            candidates = await view.candidates(self._settings, conversation.id, conn)
        else:
            candidates = await robot_candidates(self._settings, conversation.id, now, conn)
        if out.robot_id is not None:
            candidates = [c for c in candidates if c.id == out.robot_id]
        choice = choose_robot(candidates, out.role, now.astimezone(self._tz))
        robot = choice.robot
        await self._check_capacity(conversation.id, robot, now, conn, view)
        parts: list[tuple[int, str, dict[str, object]]] = (
            [(FILE, out.text, out.file.command_fields(out.text))]
            if out.file is not None
            else [(TEXT, part, {}) for part in split_text(out.text, worktool.pacing.max_text_chars)]
        )
        rows = [
            await Command.create(
                idempotency_key=f"{out.reply_key}#{n}",
                reply_key=out.reply_key,
                part=n,
                parts=len(parts),
                robot_id=robot.id,
                conversation_id=conversation.id,
                purpose=out.purpose,
                requested_by=out.requested_by,
                type=kind,
                target=conversation.key,
                content=content,
                at_list=list(out.at_list) if n == 1 and kind == TEXT else [],
                extra=extra,
                created_at=now,
                robot_reason=choice.reason,
                using_db=conn,
            )
            for n, (kind, content, extra) in enumerate(parts, start=1)
        ]
        if view is not None:
            view.count(robot.id, conversation.id, now, len(rows))
        log.info(
            "commands queued",
            robot_id=robot.id,
            conversation_id=conversation.id,
            command_ids=[r.id for r in rows],
            purpose=out.purpose,
            parts=len(parts),
            why=choice.reason,
        )
        return Queued(robot.id, [r.id for r in rows])

    async def wake(self, robot_id: str) -> None:
        """Ask the worker to dispatch the robot's queue; without Redis the sweeper does it later."""
        try:
            await enqueue_dispatch(self._redis, robot_id)
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable; the sweeper will dispatch the queue", robot_id=robot_id, error=str(exc))

    async def _check_capacity(
        self,
        conversation_id: int,
        robot: RobotCandidate,
        now: datetime,
        conn: BaseDBAsyncClient,
        view: RobotView | None = None,
    ) -> None:
        pacing = self._settings.worktool.pacing
        if view is not None:
            recent: list[Any] = await view.recent_commands(conversation_id, now, conn)
        else:
            recent = list(
                await Command.filter(conversation_id=conversation_id, created_at__gt=now - MINUTE)
                .using_db(conn)
                .values_list("created_at", flat=True)
            )
        wait = group_cap_wait(recent, now, pacing.group_replies_per_minute)
        if wait is not None:
            raise OutgoingRefused(
                f"this conversation already got {pacing.group_replies_per_minute} messages in the last minute",
                "group_cap",
                retry_after_s=wait,
            )
        if robot.queued >= pacing.max_queued_per_robot:
            raise OutgoingRefused(
                f"robot {robot.id} already has {robot.queued} commands queued", "queue_full", retry_after_s=60
            )
