"""After-sales tasks: opening from messages, assigning, and watching whether the user answers.

Like the alerts, every method works in the caller's transaction and adds what must happen after the
commit to an `Effects` (bot/effects.py: robots to wake, alert jobs, response checks); `schedule` applies it. The
response deadline is `response_due_at`, guarded by `response_token`: an arq job deferred to it does the
reminder or the timeout only if the token it was scheduled with is still current.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.functions import Count, Max

from bot import limits
from bot.alerts.service import AlertService, AlertSpec
from bot.clock import Clock
from bot.commands.pacing import OutgoingRefused
from bot.commands.selection import NoRobotAvailable
from bot.commands.service import Commands, ConversationNotFound, OutgoingText
from bot.db import connection
from bot.effects import Effects
from bot.job_names import TASK_CHECK_JOB
from bot.rules.assignment import AssignmentFile
from bot.rules.people import Directory, PersonRule
from bot.settings import Settings
from bot.tasks.assign import Candidate, Choice, NoOne, choose
from bot.tasks.cooperation import cooperation_level
from bot.write_lock import write_transaction
from models.alerts import Alert, AlertStatus, CancelReason
from models.conversations import Conversation
from models.tasks import OPEN_TASK_STATUSES, AfterSalesTask, Cooperation, TaskEvent, TaskStatus, UserResponse

log = structlog.get_logger(__name__)
STAFF_ROLES: Final = frozenset({"staff", "operator", "manager"})


class TaskError(Exception):
    """A request about a task that cannot be honoured (the API answers with `status`)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def open_key(conversation_id: int | None, user: str, task_type: str) -> str:
    return f"{conversation_id or '-'}:{user}:{task_type}"


class TaskService:
    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        rules: Callable[[], AssignmentFile],
        redis: ArqRedis,
        clock: Clock,
        *,
        commands: Commands | None = None,
        alerts: AlertService | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self._rules = rules
        self.redis = redis
        self.clock = clock
        self.commands = commands
        self.alerts = alerts
        self.tz = ZoneInfo(settings.timezone)

    @property
    def rules(self) -> AssignmentFile:
        return self._rules()

    def without_alerts(self) -> TaskService:
        """The same service opening no alert (the worker with `alerts.enabled` false: nothing would step it)."""
        return TaskService(self.settings, self.directory, self._rules, self.redis, self.clock, commands=self.commands)

    def staff(self) -> list[PersonRule]:
        people = {p.name: p for p in self.directory.people.values() if p.role == "staff" and p.active}
        return [people[name] for name in sorted(people)]

    # -- opening and assigning ------------------------------------------------------------------------

    async def open_task(
        self,
        *,
        conversation_id: int | None,
        user: str,
        text: str,
        now: datetime,
        conn: BaseDBAsyncClient,
        effects: Effects,
        task_type: str | None = None,
        priority: str | None = None,
        source_message_id: int | None = None,
        actor: str = "auto",
    ) -> tuple[AfterSalesTask, bool]:
        """The open task of this user, conversation and type (a repeat joins it), or a new, assigned one."""
        rules = self.rules
        detected = (
            rules.detect(text)
            if task_type is None
            else next((t for t in rules.task_types if t.type == task_type), None)
        )
        kind = task_type or (detected.type if detected is not None else rules.default_type)
        key = open_key(conversation_id, user, kind)
        existing = await AfterSalesTask.filter(open_key=key).using_db(conn).first()
        if existing is None:
            uid = uuid.uuid4().hex
            fresh = AfterSalesTask(
                uid=uid,
                open_key=key,
                conversation_id=conversation_id,
                user=user,  # whole: it is part of the key, and alerts about the user match it
                task_type=kind,
                skill=detected.skill if detected is not None else None,
                priority=priority or (detected.priority if detected is not None else "normal"),
                detail=text[:2000],
                source_message_id=source_message_id,
                created_at=now,
                updated_at=now,
            )
            await AfterSalesTask.bulk_create([fresh], ignore_conflicts=True, using_db=conn)
            existing = await AfterSalesTask.filter(open_key=key).using_db(conn).first()
            if existing is not None and existing.uid == uid:
                await self._event(existing.id, "created", actor, text[:200], now=now, conn=conn)
                log.info(
                    "after-sales task opened",
                    task_id=existing.id,
                    type=kind,
                    user=user,
                    conversation_id=conversation_id,
                )
                await self.assign(existing, now, conn, effects)
                return existing, True
        if existing is None:
            raise TaskError(f"task {key} closed while it was being opened; try again", status=409)
        await AfterSalesTask.filter(id=existing.id).using_db(conn).update(messages=F("messages") + 1, updated_at=now)
        existing.messages += 1
        await self._event(existing.id, "joined", user, text[:200], now=now, conn=conn)
        return existing, False

    async def candidates(self, now: datetime, conn: BaseDBAsyncClient) -> list[Candidate]:
        loads = dict(
            await AfterSalesTask.filter(status__in=OPEN_TASK_STATUSES, assignee__isnull=False)
            .using_db(conn)
            .group_by("assignee")
            .annotate(n=Count("id"))
            .values_list("assignee", "n")
        )
        last = dict(
            await AfterSalesTask.filter(assigned_at__isnull=False)
            .using_db(conn)
            .group_by("assignee")
            .annotate(at=Max("assigned_at"))
            .values_list("assignee", "at")
        )
        local = now.astimezone(self.tz)
        return [
            Candidate(
                p.name,
                p.skills,
                p.shift.covers(local),
                int(loads.get(p.name, 0)),
                p.max_open_tasks,
                last.get(p.name),
            )
            for p in self.staff()
        ]

    async def assign(
        self,
        task: AfterSalesTask,
        now: datetime,
        conn: BaseDBAsyncClient,
        effects: Effects,
        *,
        exclude: Iterable[str] = (),
        actor: str = "auto",
        assignee: str | None = None,
    ) -> Choice | NoOne:
        """Give the task to someone (or to `assignee`, by hand) and @ them in the conversation."""
        if assignee is not None:
            person = self.directory.person(assignee)
            if person is None or person.role != "staff":
                raise TaskError(f"{assignee!r} is not a staff member in rules/people.yaml", status=422)
            loads = {c.name: c.open_tasks for c in await self.candidates(now, conn)}
            found: Choice | NoOne = Choice(person.name, f"手动指派({actor})", loads.get(person.name, 0))
        else:
            found = choose(task.skill, task.task_type, await self.candidates(now, conn), frozenset(exclude))
        if isinstance(found, NoOne):
            await (
                AfterSalesTask.filter(id=task.id).using_db(conn).update(assignment_reason=found.reason, updated_at=now)
            )
            task.assignment_reason = found.reason
            await self._event(task.id, "unassigned", actor, found.reason, now=now, conn=conn)
            log.warning("after-sales task waits for someone", task_id=task.id, reason=found.reason)
            return found
        again = task.assignee is not None
        status = (
            task.status if task.status in (TaskStatus.WAITING_USER, TaskStatus.IN_PROGRESS) else TaskStatus.ASSIGNED
        )
        changes: dict[str, Any] = {
            "assignee": found.assignee,
            "auto_assigned_by": actor,
            "assignment_reason": found.reason[: limits.REASON_CHARS],
            "assigned_at": now,
            "status": status,
            "staff_follow_up_time": None if again else task.staff_follow_up_time,
            "updated_at": now,
        }
        if again:
            changes["reassignments"] = task.reassignments + 1
        await AfterSalesTask.filter(id=task.id).using_db(conn).update(**changes)
        for name, value in changes.items():
            setattr(task, name, value)
        action = "reassigned" if again else "assigned"
        await self._event(task.id, action, actor, f"{found.assignee}: {found.reason}", now=now, conn=conn)
        log.info("after-sales task assigned", task_id=task.id, assignee=found.assignee, reason=found.reason)
        await self._announce(task, now, conn, effects)
        return found

    async def _announce(self, task: AfterSalesTask, now: datetime, conn: BaseDBAsyncClient, effects: Effects) -> None:
        rules = self.rules.assignment
        if not rules.mention_assignee or task.conversation_id is None or task.assignee is None:
            return
        text = rules.message.format(
            assignee=task.assignee, user=task.user, type=task.task_type, task_id=task.id, text=task.detail[:60]
        )
        at = (task.assignee, task.user) if rules.mention_user else (task.assignee,)
        if rules.mention_user and not text.startswith(f"@{task.user}") and f"@{task.user}" not in text:
            text = f"{text} @{task.user}"
        if (
            await self._say(
                task, text=text, at=at, key=f"task:{task.id}:assign:{task.reassignments}", conn=conn, effects=effects
            )
            and rules.mention_user
        ):
            await self._await_user(task, now, conn, effects, by="bot")

    async def _say(
        self,
        task: AfterSalesTask,
        *,
        text: str,
        at: tuple[str, ...],
        key: str,
        conn: BaseDBAsyncClient,
        effects: Effects,
    ) -> bool:
        if self.commands is None or task.conversation_id is None:
            return False
        out = OutgoingText(
            conversation_id=task.conversation_id,
            text=text,
            reply_key=key,
            purpose="after_sales",
            requested_by=f"task:{task.id}",
            role="after_sales",
            at_list=at,
        )
        try:
            queued = await self.commands.send_text(out, conn)
        except (NoRobotAvailable, OutgoingRefused, ConversationNotFound) as exc:
            log.warning("after-sales message not sent", task_id=task.id, key=key, reason=str(exc))
            return False
        effects.robots.add(queued.robot_id)
        return True

    # -- watching the conversation --------------------------------------------------------------------

    async def on_message(
        self,
        *,
        conversation_id: int,
        sender: str,
        role: str,
        mentioned: Iterable[str],
        refused: bool,
        now: datetime,
        conn: BaseDBAsyncClient,
        effects: Effects,
    ) -> None:
        """Staff following up or @-ing the user about a task; the user answering (or refusing)."""
        if role not in STAFF_ROLES and role != "user":
            return
        tasks = await (
            AfterSalesTask.filter(conversation_id=conversation_id, status__in=OPEN_TASK_STATUSES)
            .using_db(conn)
            .order_by("id")
        )
        if role in STAFF_ROLES:
            named = set(mentioned)
            for task in tasks:
                if task.assigned_at is not None and task.staff_follow_up_time is None:
                    await (
                        AfterSalesTask.filter(id=task.id)
                        .using_db(conn)
                        .update(staff_follow_up_time=now, updated_at=now)
                    )
                    task.staff_follow_up_time = now
                    await self._event(task.id, "followed_up", sender, "", now=now, conn=conn)
                if task.user in named:
                    await self._await_user(task, now, conn, effects, by=sender)
            return
        for task in tasks:
            if (
                task.user == sender
                and task.status == TaskStatus.WAITING_USER
                and task.user_response_status == UserResponse.PENDING
            ):
                await self._answered(task, refused, now, conn)

    async def _await_user(
        self, task: AfterSalesTask, now: datetime, conn: BaseDBAsyncClient, effects: Effects, *, by: str
    ) -> None:
        window = timedelta(minutes=self.rules.response.window_minutes)
        token = task.response_token + 1
        changes: dict[str, Any] = {
            "status": TaskStatus.WAITING_USER,
            "staff_at_user_time": now,
            "user_response_status": UserResponse.PENDING,
            "response_due_at": now + window,
            "response_token": token,
            "reminded_at": None,
            "updated_at": now,
        }
        await AfterSalesTask.filter(id=task.id).using_db(conn).update(**changes)
        for name, value in changes.items():
            setattr(task, name, value)
        effects.task_checks[task.id] = (token, now + window)
        await self._event(task.id, "at_user", by, f"waiting until {(now + window).isoformat()}", now=now, conn=conn)

    async def _answered(self, task: AfterSalesTask, refused: bool, now: datetime, conn: BaseDBAsyncClient) -> None:
        started = task.staff_at_user_time or now
        latency = max(0.0, (now - started).total_seconds())
        cooperation = cooperation_level(
            refused=refused,
            latency_s=latency,
            high_within_minutes=self.rules.response.high_within_minutes,
            reminded=task.reminded_at is not None,
        )
        changed = await (
            AfterSalesTask.filter(
                id=task.id, response_token=task.response_token, user_response_status=UserResponse.PENDING
            )
            .using_db(conn)
            .update(
                status=TaskStatus.IN_PROGRESS,
                user_response_status=UserResponse.REFUSED if refused else UserResponse.RESPONDED,
                user_response_time=now,
                user_response_s=latency,
                user_cooperation_level=cooperation,
                response_due_at=None,
                response_token=task.response_token + 1,
                updated_at=now,
            )
        )
        if changed:
            action = "refused" if refused else "responded"
            await self._event(task.id, action, task.user, f"after {latency:.0f} s", now=now, conn=conn)
            log.info("user answered about a task", task_id=task.id, user=task.user, refused=refused, latency_s=latency)

    async def check_response(self, task_id: int, token: int) -> str:
        """The response deadline (arq job): remind once, then time out and alert. Stale/early: nothing."""
        now = self.clock.now()
        effects = Effects()
        async with write_transaction("task check", task_id=task_id) as tx:
            conn = tx.conn
            task = await AfterSalesTask.filter(id=task_id).using_db(conn).select_for_update().first()
            if (
                task is None
                or task.status != TaskStatus.WAITING_USER
                or task.response_token != token
                or task.user_response_status != UserResponse.PENDING
                or task.response_due_at is None
            ):
                return "stale"
            if now < task.response_due_at:
                effects.task_checks[task.id] = (token, task.response_due_at)
                outcome = "early"
            elif task.reminded_at is None:
                outcome = await self._remind(task, now, conn, effects)
            else:
                outcome = await self._time_out(task, now, conn, effects)
        await self.schedule(effects)
        return outcome

    async def _remind(self, task: AfterSalesTask, now: datetime, conn: BaseDBAsyncClient, effects: Effects) -> str:
        rules = self.rules.response
        due = now + timedelta(minutes=rules.window_minutes)
        token = task.response_token + 1
        await (
            AfterSalesTask.filter(id=task.id)
            .using_db(conn)
            .update(reminded_at=now, response_due_at=due, response_token=token, updated_at=now)
        )
        task.response_token = token
        text = rules.reminder.format(user=task.user, type=task.task_type, task_id=task.id, assignee=task.assignee or "")
        key = f"task:{task.id}:remind:{token}"
        await self._say(task, text=text, at=(task.user,), key=key, conn=conn, effects=effects)
        effects.task_checks[task.id] = (token, due)
        await self._event(task.id, "reminded", "system", "", now=now, conn=conn)
        return "reminded"

    async def _time_out(self, task: AfterSalesTask, now: datetime, conn: BaseDBAsyncClient, effects: Effects) -> str:
        await (
            AfterSalesTask.filter(id=task.id)
            .using_db(conn)
            .update(
                user_response_status=UserResponse.TIMEOUT,
                user_cooperation_level=Cooperation.LOW,
                response_due_at=None,
                response_token=task.response_token + 1,
                updated_at=now,
            )
        )
        await self._event(task.id, "timeout", "system", "no answer after a reminder", now=now, conn=conn)
        if self.alerts is not None:
            spec = AlertSpec(
                kind="user_no_response",
                subject=task.user,
                conversation_id=task.conversation_id,
                where=await self._where(task, conn),
                detail=f"任务 #{task.id}（{task.task_type}）：提醒后仍未回复",
                recur=False,
            )
            await self.alerts.open(spec, now, conn, effects.alerts)
        log.warning("user did not answer about a task", task_id=task.id, user=task.user)
        return "timeout"

    async def _where(self, task: AfterSalesTask, conn: BaseDBAsyncClient) -> str:
        found = await Conversation.filter(id=task.conversation_id).using_db(conn).first()
        return found.name if found is not None else ""

    async def assign_waiting(
        self, task_id: int, *, conn: BaseDBAsyncClient, effects: Effects, actor: str = "auto"
    ) -> AfterSalesTask:
        """Assign a task nobody has yet (the API's auto-assign of an existing task)."""
        task = await self._open_task(task_id, conn)
        if task.assignee is not None:
            raise TaskError(
                f"task {task.id} is assigned to {task.assignee}; use POST /api/after-sales/{task.id}/reassign",
                status=409,
            )
        await self.assign(task, self.clock.now(), conn, effects, actor=actor)
        return await AfterSalesTask.get(id=task_id, using_db=conn)

    async def reassign(
        self, task_id: int, *, actor: str, assignee: str | None, conn: BaseDBAsyncClient, effects: Effects
    ) -> AfterSalesTask:
        """To `assignee`, or automatically to someone other than the current assignee."""
        task = await self._open_task(task_id, conn)
        if assignee is not None and assignee == task.assignee:
            raise TaskError(f"task {task_id} is already assigned to {task.assignee}", status=409)
        exclude = (task.assignee,) if task.assignee and assignee is None else ()
        found = await self.assign(
            task, self.clock.now(), conn, effects, exclude=exclude, actor=actor, assignee=assignee
        )
        if not isinstance(found, Choice):
            raise TaskError(f"nobody else can take task {task_id}: {found.reason}", status=409)
        return await AfterSalesTask.get(id=task_id, using_db=conn)

    async def _open_task(self, task_id: int, conn: BaseDBAsyncClient) -> AfterSalesTask:
        task = await AfterSalesTask.filter(id=task_id).using_db(conn).select_for_update().first()
        if task is None:
            raise TaskError(f"task {task_id} does not exist", status=404)
        if task.status not in OPEN_TASK_STATUSES:
            raise TaskError(f"task {task_id} is {task.status.value}", status=409)
        return task

    def check_type(self, task_type: str | None) -> None:
        known = [t.type for t in self.rules.task_types]
        if task_type is not None and task_type not in known:
            raise TaskError(f"task_type {task_type!r} is not in rules/assignment.yaml ({known})", status=422)

    # -- closing --------------------------------------------------------------------------------------

    async def close(
        self, task_id: int, *, completed: bool, actor: str, note: str, conn: BaseDBAsyncClient
    ) -> AfterSalesTask:
        now = self.clock.now()
        task = await AfterSalesTask.filter(id=task_id).using_db(conn).first()
        if task is None:
            raise TaskError(f"task {task_id} does not exist", status=404)
        status = TaskStatus.COMPLETED if completed else TaskStatus.CANCELLED
        stamp = {"completed_at": now} if completed else {"cancelled_at": now}
        changed = await (
            AfterSalesTask.filter(id=task_id, status__in=OPEN_TASK_STATUSES)
            .using_db(conn)
            .update(
                status=status,
                open_key=None,
                response_due_at=None,
                response_token=task.response_token + 1,
                closed_by=actor[: limits.NAME_CHARS],
                close_reason=note[: limits.REASON_CHARS] or None,
                updated_at=now,
                **stamp,
            )
        )
        if changed != 1:
            raise TaskError(f"task {task_id} is already {task.status.value}", status=409)
        await self._event(task_id, status.value, actor, note, now=now, conn=conn)
        if self.alerts is not None:
            why = f"task #{task_id} {status.value} by {actor}"
            await self.alerts.cancel_matching(
                CancelReason.RESOLVED,
                actor=actor,
                note=why,
                conn=conn,
                kinds=("task_overdue",),
                subject=f"task:{task_id}",
            )
            if task.conversation_id is not None:
                await self.alerts.cancel_matching(
                    CancelReason.RESOLVED,
                    actor=actor,
                    note=why,
                    conn=conn,
                    kinds=("user_no_response", "user_refused"),
                    conversation_id=task.conversation_id,
                    subject=task.user,
                )
        return await AfterSalesTask.get(id=task_id, using_db=conn)

    # -- the sweeper ----------------------------------------------------------------------------------

    async def sweep(self) -> dict[str, int]:
        """Reassign what its assignee cannot follow, place waiting tasks, alert overdue ones, and
        re-schedule response checks whose job was lost."""
        now = self.clock.now()
        effects = Effects()
        rules = self.rules.assignment
        counts = {"reassigned": 0, "assigned": 0, "overdue": 0, "checks": 0}
        on_shift = {c.name for c in await self.candidates(now, connection()) if c.on_shift}
        untouched = now - timedelta(minutes=rules.reassign_untouched_minutes)
        overdue_before = now - timedelta(hours=rules.overdue_hours)
        open_overdue = Alert.filter(kind="task_overdue", status=AlertStatus.OPEN)
        alerted = {str(subject) for subject in await open_overdue.values_list("subject", flat=True)}
        for task in await AfterSalesTask.filter(status__in=OPEN_TASK_STATUSES).order_by("id").limit(2000):
            reassign = task.assignee is not None and (
                (rules.reassign_off_shift and task.assignee not in on_shift)
                or (
                    task.status == TaskStatus.ASSIGNED
                    and task.staff_follow_up_time is None
                    and task.assigned_at is not None
                    and task.assigned_at <= untouched
                )
            )
            overdue = self.alerts is not None and task.created_at <= overdue_before and f"task:{task.id}" not in alerted
            if task.assignee is None or reassign or overdue:  # a transaction only when there is work
                async with write_transaction("task sweep", task_id=task.id) as tx:
                    conn = tx.conn
                    if task.assignee is None:
                        counts["assigned"] += isinstance(await self.assign(task, now, conn, effects), Choice)
                    elif reassign:
                        found = await self.assign(task, now, conn, effects, exclude=(task.assignee,), actor="auto")
                        counts["reassigned"] += isinstance(found, Choice)
                    if overdue:
                        counts["overdue"] += await self._alert_overdue(task, now, conn, effects)
            if task.response_due_at is not None and task.response_due_at <= now - timedelta(seconds=2):
                effects.task_checks[task.id] = (task.response_token, task.response_due_at)
                counts["checks"] += 1
        await self.schedule(effects)
        return counts

    async def _alert_overdue(
        self, task: AfterSalesTask, now: datetime, conn: BaseDBAsyncClient, effects: Effects
    ) -> bool:
        assert self.alerts is not None
        hours = self.rules.assignment.overdue_hours
        spec = AlertSpec(
            kind="task_overdue",
            subject=f"task:{task.id}",
            conversation_id=task.conversation_id,
            where=await self._where(task, conn),
            detail=f"任务 #{task.id}（{task.task_type}，{task.user}）超过 {hours:g} 小时未完成",
            recur=False,
        )
        return (await self.alerts.open(spec, now, conn, effects.alerts)).created

    # -- after the commit -----------------------------------------------------------------------------

    async def schedule(self, effects: Effects) -> None:
        await effects.apply(commands=self.commands, alerts=self.alerts, tasks=self)

    async def schedule_checks(self, checks: dict[int, tuple[int, datetime]]) -> None:
        """Defer a response check to each due time (Redis down: the sweeper re-schedules overdue ones)."""
        now = self.clock.now()
        try:
            for task_id, (token, due) in checks.items():
                await self.redis.enqueue_job(
                    TASK_CHECK_JOB,
                    task_id,
                    token,
                    _job_id=f"task-check:{task_id}:{token}",
                    _defer_by=max(due - now, timedelta(0)),
                )
        except (RedisError, OSError) as exc:
            log.warning("task checks not scheduled; the sweeper will pick them up", error=str(exc))

    async def _event(
        self, task_id: int, action: str, actor: str, detail: str, *, now: datetime, conn: BaseDBAsyncClient
    ) -> None:
        await TaskEvent.create(
            task_id=task_id, at=now, action=action, actor=actor[: limits.NAME_CHARS], detail=detail, using_db=conn
        )
