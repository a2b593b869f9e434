"""API of the commands layer: sending a message, a command's status, the robots and their health."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tortoise.functions import Count

from bot import limits
from bot.api.auth import CALLER, requires
from bot.api.envelope import ApiError, ok, read_body
from bot.api.params import DbId, path_id
from bot.commands.pacing import OutgoingRefused
from bot.commands.selection import NoRobotAvailable, health
from bot.commands.service import ConversationNotFound, FileAttachment, OutgoingText, robot_candidates
from bot.keys import CLOCK, COMMANDS, RULES, SETTINGS
from bot.robots.health import score
from bot.robots.monitor import component_rows, observe
from models.commands import Command
from models.conversations import Conversation, ConversationRobot
from models.robots import Robot, RobotHealth

routes = web.RouteTableDef()


class FileBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: str = Field(pattern=r"^https?://", max_length=2000)
    name: str = Field(min_length=1, max_length=200, pattern=r"\.[A-Za-z0-9]{1,8}$", description="with extension")
    type: Literal["image", "audio", "video", "*"] = "*"


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    conversation_id: DbId | None = None
    conversation: str | None = Field(
        default=None,
        min_length=1,
        max_length=limits.CONVERSATION_KEY_CHARS,
        description="group remark/name or contact name",
    )
    text: str = Field(default="", max_length=20_000)
    file: FileBody | None = None
    at: list[str] = Field(default_factory=list, max_length=20)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=limits.API_IDEMPOTENCY_KEY_CHARS)
    robot_id: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SendRequest:
        if (self.conversation_id is None) == (self.conversation is None):
            raise ValueError("give exactly one of conversation_id and conversation")
        if not self.text and self.file is None:
            raise ValueError("give text, a file, or both")
        if self.file is not None and self.file.name.lower().endswith(".webp"):
            raise ValueError("file: WorkTool cannot send webp images")
        return self


def command_view(command: Command) -> dict[str, Any]:
    return {
        "id": command.id,
        "status": command.status.value,
        "robot_id": command.robot_id,
        "conversation_id": command.conversation_id,
        "purpose": command.purpose,
        "requested_by": command.requested_by,
        "type": command.type,
        "target": command.target,
        "content": command.content,
        "at_list": command.at_list,
        "part": command.part,
        "parts": command.parts,
        "reply_key": command.reply_key,
        "worktool_message_id": command.worktool_message_id,
        "created_at": command.created_at,
        "sent_at": command.sent_at,
        "result_due_at": command.result_due_at,
        "finished_at": command.finished_at,
        "send_attempts": command.send_attempts,
        "error_code": command.error_code,
        "error_reason": command.error_reason,
        "time_cost_s": command.time_cost_s,
        "success_list": command.success_list,
        "fail_list": command.fail_list,
        "result_source": command.result_source,
        "late": command.late,
        "robot_reason": command.robot_reason,
    }


@routes.post("/api/messages/send")
@requires("admin")
async def send_message(request: web.Request) -> web.Response:
    body = await read_body(request, SendRequest)
    conversation_id = body.conversation_id
    if conversation_id is None:
        matches = await Conversation.filter(key=body.conversation).values_list("id", flat=True)
        if len(matches) != 1:
            found = "no conversation" if not matches else f"{len(matches)} conversations (use conversation_id)"
            raise ApiError(404 if not matches else 409, f"{found} named {body.conversation!r}")
        conversation_id = int(matches[0])  # type: ignore[call-overload]
    caller = request[CALLER].name
    out = OutgoingText(
        conversation_id=conversation_id,
        text=body.text,
        reply_key=f"api:{body.idempotency_key or uuid.uuid4().hex}",
        purpose="manual",
        requested_by=caller,
        at_list=tuple(body.at),
        robot_id=body.robot_id,
        file=FileAttachment(body.file.url, body.file.name, body.file.type) if body.file else None,
    )
    try:
        queued = await request.app[COMMANDS].send_text(out)
    except ConversationNotFound as exc:
        raise ApiError(404, str(exc), error="not_found") from exc
    except NoRobotAvailable as exc:
        raise ApiError(409, str(exc), error="no_robot") from exc
    except OutgoingRefused as exc:
        if exc.retry_after_s is not None:
            retry = str(math.ceil(exc.retry_after_s))
            raise ApiError(429, f"{exc}; retry in {retry} s", error=exc.error, headers={"Retry-After": retry}) from exc
        raise ApiError(422, str(exc), error=exc.error) from exc
    data = {"robot_id": queued.robot_id, "command_ids": queued.command_ids, "created": queued.created}
    return ok(data, message="queued" if queued.created else "already queued", status=202 if queued.created else 200)


@routes.get("/api/commands/{command_id}/status")
@requires("staff")
async def command_status(request: web.Request) -> web.Response:
    command_id = path_id(request, "command_id")
    command = await Command.get_or_none(id=command_id)
    if command is None:
        raise ApiError(404, f"command {command_id} does not exist", error="not_found")
    return ok(command_view(command))


@routes.get("/api/robots")
@requires("staff")
async def list_robots(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    now = request.app[CLOCK].now()
    rows = {robot.id: robot for robot in await Robot.all()}
    candidates = {c.id: c for c in await robot_candidates(settings, None, now)}
    last_day: dict[str, dict[str, int]] = {}
    for robot_id, status, n in await (
        Command.filter(sent_at__gte=now - timedelta(days=1))
        .group_by("robot_id", "status")
        .annotate(n=Count("id"))
        .values_list("robot_id", "status", "n")
    ):
        last_day.setdefault(str(robot_id), {})[str(status)] = int(n)
    reach = {
        str(robot_id): int(n)
        for robot_id, n in await ConversationRobot.all()
        .group_by("robot_id")
        .annotate(n=Count("id"))
        .values_list("robot_id", "n")
    }
    data = []
    for robot in settings.worktool.robots:
        row = rows.get(robot.id)
        candidate = candidates[robot.id]
        data.append(
            {
                "id": robot.id,
                "name": robot.name,
                "roles": list(robot.roles),
                "shift": robot.shift.model_dump(),
                "on_shift": robot.shift.covers(now.astimezone(request.app[COMMANDS].timezone)),
                "enabled": row.enabled if row else True,
                "online": row.online if row else None,
                "online_changed_at": row.online_changed_at if row else None,
                "online_checked_at": row.online_checked_at if row else None,
                "last_callback_at": row.last_callback_at if row else None,
                "queued": candidate.queued,
                "unknown_last_hour": candidate.recent_unknown,
                "unknown_results": row.unknown_results if row else 0,
                "health": health(candidate),
                "health_score": row.health_score if row else None,
                "health_status": row.health_status if row else None,
                "health_checked_at": row.health_checked_at if row else None,
                "conversations": reach.get(robot.id, 0),
                "commands_last_24h": last_day.get(robot.id, {}),
            }
        )
    return ok(data)


def _fact(components: list[dict[str, Any]], name: str, key: str) -> Any:
    return next((c.get("facts", {}).get(key) for c in components if c.get("name") == name), None)


@routes.get("/api/robots/{robot_id}/health")
@requires("staff")
async def robot_health(request: web.Request) -> web.Response:
    """The latest health check (or, for a robot never checked, one made now and not stored), its
    components and recommendations, and the last `health.history` snapshots, newest first."""
    settings = request.app[SETTINGS]
    robot_id = request.match_info["robot_id"]
    configured = settings.robot(robot_id)
    row = await Robot.get_or_none(id=robot_id) if configured is not None else None
    if configured is None or row is None:
        raise ApiError(404, f"robot {robot_id!r} is not configured", error="not_found")
    history = await RobotHealth.filter(robot_id=robot_id).order_by("-checked_at", "-id").limit(settings.health.history)
    rules = request.app[RULES].current
    if history:
        last = history[0]
        checked_at, value, status = last.checked_at, last.score, last.status
        components, recommendations, version = last.components, last.recommendations, last.rules_version
    else:
        checked_at = request.app[CLOCK].now()
        computed = score((await observe([row], rules.health, checked_at))[robot_id], rules.health)
        value, status, version = computed.score, computed.status, rules.version
        components, recommendations = component_rows(computed), list(computed.recommendations)
    succeeded = _fact(components, "success", "succeeded") or 0
    failed = _fact(components, "success", "failed") or 0
    unknown = _fact(components, "unknown", "unknown") or 0
    finished = succeeded + failed + unknown
    latency = _fact(components, "latency_avg", "seconds")
    data = {
        "robot_id": robot_id,
        "robot_name": configured.name,
        "health_score": value,
        "health_status": status,
        "last_health_check": checked_at,
        "stored": bool(history),
        "rules_version": version,
        "window_minutes": rules.health.window_minutes,
        "message_count": _fact(components, "silence", "callbacks") or 0,
        "command_count": finished,
        "error_count": failed + unknown,
        "success_rate": round(100 * succeeded / finished, 2) if finished else None,
        "average_response_time": round(1000 * latency) if latency is not None else None,
        "components": components,
        "recommendations": recommendations,
        "history": [{"checked_at": h.checked_at, "health_score": h.score, "health_status": h.status} for h in history],
    }
    return ok(data)
