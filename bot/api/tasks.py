"""API of the after-sales tasks: create and auto-assign, list, complete / cancel / reassign, and the
user-response state (DESIGN §3.5, seed plan §9.1)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from tortoise.transactions import in_transaction

from bot import events, limits
from bot.api.auth import CALLER, refuse_actor, requires
from bot.api.envelope import ApiError, ok, read_body
from bot.api.params import MAX_ID, id_param, path_id
from bot.api.routes import newest_page
from bot.api.sessions import parse_session_id
from bot.effects import Effects
from bot.keys import REDIS
from bot.tasks.service import TaskError, TaskService
from models.conversations import Conversation
from models.tasks import OPEN_TASK_STATUSES, AfterSalesTask, TaskStatus, UserResponse

routes = web.RouteTableDef()
TASKS: Final = web.AppKey("tasks", TaskService)
PRIORITIES = Literal["low", "normal", "high", "urgent"]
# The plan's own examples spell ids as strings ("task_001"): digits after the field's own prefix, or plain
# digits, name the row of that number. Anything else is not an id (400), nor is a number outside 1..MAX_ID
# (as for ids in paths: bot/api/params.py); a well-formed id that names no row is a 404.
_LOOSE_ID: Final = re.compile(r"(?:(?P<prefix>[a-z]+)[_-])?(?P<digits>[0-9]{1,30})")


def _loose_id(prefixes: tuple[str, ...]) -> BeforeValidator:
    def parse(value: object) -> object:
        if isinstance(value, str):
            found = _LOOSE_ID.fullmatch(value.strip())
            if found is None or (found["prefix"] is not None and found["prefix"] not in prefixes):
                spelled = " or ".join(f'"{p}_12"' for p in prefixes)
                raise ValueError(f"an id is a number, a string of digits or {spelled}")
            return int(found["digits"])
        return value

    return BeforeValidator(parse)


TaskId = Annotated[int, Field(ge=1, le=MAX_ID), _loose_id(("task",))]
ConversationId = Annotated[int, Field(ge=1, le=MAX_ID), _loose_id(("conversation", "conv", "group"))]


class AssignRequest(BaseModel):
    """Either `task_id` (assign a waiting task) or what a new task needs (conversation and user)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    task_id: TaskId | None = None
    conversation_id: ConversationId | None = None
    session_id: str | None = Field(default=None, min_length=1, max_length=60)  # checked below, with what to send
    user: str | None = Field(default=None, min_length=1, max_length=limits.NAME_CHARS)
    task_type: str | None = Field(default=None, min_length=1, max_length=limits.KIND_CHARS)
    text: str = Field(default="", max_length=2000)
    priority: PRIORITIES | None = None

    @model_validator(mode="after")
    def _target(self) -> AssignRequest:
        if self.task_id is None:
            if self.session_id is not None and parse_session_id(self.session_id) is None:
                raise ValueError(
                    f"session_id {self.session_id!r} names no session: a session id is '<conversation id>-<first "
                    "message id>' as GET /api/groups/{group_id}/sessions lists it (e.g. '12-345'); or send "
                    "conversation_id (a number or 'conv_12') instead"
                )
            if self.conversation_id is None and self.session_id is None:
                raise ValueError("give task_id, or conversation_id (or session_id) and user for a new task")
            if self.user is None:
                raise ValueError("user: the owner the new task is about is required")
            if self.task_type is None and not self.text:
                raise ValueError("give task_type or the user's text (the type is detected from it)")
        elif extra := [
            n for n in ("conversation_id", "session_id", "user", "task_type") if getattr(self, n) is not None
        ]:
            # The plan's example sends task_type and session_id ("session_001") beside task_id: they cannot be
            # checked against the task (no session is called that), so say exactly what to send instead.
            raise ValueError(
                f'with task_id, give nothing else: send {{"task_id": {self.task_id}}} alone (also got '
                f"{', '.join(extra)}; the task already has its conversation, user and type; priority may stay)"
            )
        return self


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    note: str = Field(default="", max_length=limits.REASON_CHARS)

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: object) -> object:
        return refuse_actor(data, "by")


class ReassignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    assignee: str | None = Field(
        default=None, min_length=1, max_length=limits.NAME_CHARS, description="omit: choose automatically"
    )
    reason: str = Field(default="", max_length=limits.REASON_CHARS)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def task_view(task: AfterSalesTask) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "conversation_id": task.conversation_id,
        "user": task.user,
        "task_type": task.task_type,
        "priority": task.priority,
        "status": task.status.value,
        "detail": task.detail,
        "messages": task.messages,
        "assignee": task.assignee,
        "auto_assigned_by": task.auto_assigned_by,
        "assignment_reason": task.assignment_reason,
        "assigned_at": _iso(task.assigned_at),
        "reassignments": task.reassignments,
        "user_response_status": task.user_response_status.value,
        "user_response_time": _iso(task.user_response_time),
        "user_cooperation_level": task.user_cooperation_level.value,
        "staff_at_user_time": _iso(task.staff_at_user_time),
        "staff_follow_up_time": _iso(task.staff_follow_up_time),
        "created_at": _iso(task.created_at),
        "completed_at": _iso(task.completed_at),
        "cancelled_at": _iso(task.cancelled_at),
        "closed_by": task.closed_by,
        "close_reason": task.close_reason,
    }


def _task_id(request: web.Request) -> int:
    return path_id(request, "task_id")


async def _conversation_of(body: AssignRequest) -> int:
    conversation_id = body.conversation_id
    if conversation_id is None:
        parsed = parse_session_id(body.session_id or "")
        conversation_id = parsed[0] if parsed is not None else None
    if conversation_id is None or conversation_id > MAX_ID or not await Conversation.exists(id=conversation_id):
        raise ApiError(404, f"conversation {conversation_id} does not exist", error="not_found")
    return conversation_id


def _error(exc: TaskError) -> ApiError:
    kinds = {404: "not_found", 409: "conflict", 422: "invalid_request"}
    return ApiError(exc.status, str(exc), error=kinds.get(exc.status, "invalid_request"))


@routes.post("/api/after-sales/auto-assign")
@requires("staff")
async def auto_assign(request: web.Request) -> web.Response:
    body = await read_body(request, AssignRequest)
    service = request.app[TASKS]
    actor = request[CALLER].name
    effects = Effects()
    now = service.clock.now()
    conversation_id = None if body.task_id is not None else await _conversation_of(body)
    try:
        async with in_transaction() as conn:
            if body.task_id is not None:
                task = await service.assign_waiting(body.task_id, conn=conn, effects=effects, actor="auto")
            else:
                service.check_type(body.task_type)
                task, _created = await service.open_task(
                    conversation_id=conversation_id,
                    user=body.user or "",
                    text=body.text,
                    now=now,
                    conn=conn,
                    effects=effects,
                    task_type=body.task_type,
                    priority=body.priority,
                    actor=actor,
                )
                task = await AfterSalesTask.get(id=task.id, using_db=conn)
    except TaskError as exc:
        raise _error(exc) from exc
    await service.schedule(effects)
    await events.task_changed(request.app[REDIS], task.id, "assigned", conversation_id=task.conversation_id)  # console
    if task.assignee is None:
        return ok({"task": task_view(task), "assigned_staff": None}, message=f"暂无人可分配：{task.assignment_reason}")
    person = service.directory.person(task.assignee)
    load = await AfterSalesTask.filter(assignee=task.assignee, status__in=OPEN_TASK_STATUSES).count()
    return ok(
        {
            "task_id": task.id,
            "assigned_staff": {
                "staff_user_id": (person.wecom_userid if person is not None else None) or task.assignee,
                "staff_name": task.assignee,
                "current_tasks": load,
            },
            "assignment_reason": task.assignment_reason,
            "assigned_at": _iso(task.assigned_at),
            "task": task_view(task),
        },
        message="自动分配成功",
    )


@routes.get("/api/after-sales/tasks")
@requires("staff")
async def list_tasks(request: web.Request) -> web.Response:
    """Filters: status (or `open`), assignee, task_type, user, conversation_id, user_response_status,
    from/to (created), limit, offset."""
    query = AfterSalesTask.all()
    status = request.query.get("status")
    if status is not None:
        allowed = [s.value for s in TaskStatus]
        if status == "open":
            query = query.filter(status__in=OPEN_TASK_STATUSES)
        elif status in allowed:
            query = query.filter(status=status)
        else:
            raise ApiError(400, f"status must be one of {[*allowed, 'open']}", error="bad_parameter")
    response = request.query.get("user_response_status")
    if response is not None:
        allowed = [s.value for s in UserResponse]
        if response not in allowed:
            raise ApiError(400, f"user_response_status must be one of {allowed}", error="bad_parameter")
        query = query.filter(user_response_status=response)
    for name in ("assignee", "task_type", "user"):
        if name in request.query:
            query = query.filter(**{name: request.query[name]})
    if (conversation_id := id_param(request, "conversation_id")) is not None:
        query = query.filter(conversation_id=conversation_id)
    return await newest_page(request, query, task_view, time_field="created_at")


async def _close(request: web.Request, completed: bool) -> web.Response:
    task_id = _task_id(request)
    body = await read_body(request, CloseRequest)
    service = request.app[TASKS]
    try:
        async with in_transaction() as conn:
            actor = request[CALLER].name  # the token's or the console account's name, never the body's
            task = await service.close(task_id, completed=completed, actor=actor, note=body.note, conn=conn)
    except TaskError as exc:
        raise _error(exc) from exc
    await events.task_changed(request.app[REDIS], task.id, task.status.value, conversation_id=task.conversation_id)
    return ok(task_view(task), message="任务已完成" if completed else "任务已取消")


@routes.post("/api/after-sales/{task_id}/complete")
@requires("staff")
async def complete_task(request: web.Request) -> web.Response:
    return await _close(request, completed=True)


@routes.post("/api/after-sales/{task_id}/cancel")
@requires("staff")
async def cancel_task(request: web.Request) -> web.Response:
    return await _close(request, completed=False)


@routes.post("/api/after-sales/{task_id}/reassign")
@requires("staff")
async def reassign_task(request: web.Request) -> web.Response:
    task_id = _task_id(request)
    body = await read_body(request, ReassignRequest)
    service = request.app[TASKS]
    effects = Effects()
    actor = request[CALLER].name
    try:
        async with in_transaction() as conn:
            task = await service.reassign(task_id, actor=actor, assignee=body.assignee, conn=conn, effects=effects)
    except TaskError as exc:
        raise _error(exc) from exc
    await service.schedule(effects)
    await events.task_changed(request.app[REDIS], task.id, "reassigned", conversation_id=task.conversation_id)
    return ok(task_view(task), message="任务已转派")


@routes.get("/api/after-sales/{task_id}/user-response")
@requires("staff")
async def user_response(request: web.Request) -> web.Response:
    task_id = _task_id(request)
    task = await AfterSalesTask.get_or_none(id=task_id)
    if task is None:
        raise ApiError(404, f"task {task_id} does not exist", error="not_found")
    waiting = task.status == TaskStatus.WAITING_USER and task.user_response_status == UserResponse.PENDING
    return ok(
        {
            "task_id": task.id,
            "user": task.user,
            "user_response_status": task.user_response_status.value,
            "waiting": waiting,
            "staff_at_user_time": _iso(task.staff_at_user_time),
            "response_due_at": _iso(task.response_due_at),
            "reminded_at": _iso(task.reminded_at),
            "user_response_time": _iso(task.user_response_time),
            "response_seconds": task.user_response_s,
            "user_cooperation_level": task.user_cooperation_level.value,
            "staff_follow_up_time": _iso(task.staff_follow_up_time),
        }
    )
