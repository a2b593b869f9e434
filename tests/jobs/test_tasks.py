"""After-sales tasks end to end in one process, on an injected clock: the shipped rules and people,
both databases, a real Redis. `due_checks` runs what the response-check jobs would run at the time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from bot.clock import FrozenClock
from bot.tasks.service import TaskError, TaskService
from jobs.processing import WorkerDeps
from jobs.tasks import sweep_tasks
from models.alerts import Alert, AlertStatus
from models.commands import Command
from models.tasks import AfterSalesTask, Cooperation, TaskEvent, TaskStatus, UserResponse
from tests.jobs.chat import say
from tests.jobs.deps import worker_deps

UTC_10 = 2  # 10:00 in Shanghai is 02:00 UTC: 售后小王 (09-21) is on shift, 售后小李 (13-23) is not


@pytest.fixture
async def deps(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[WorkerDeps]:
    async with worker_deps(db_url, redis_url, tmp_path, clock, services=True) as deps:
        yield deps


def tasks_of(deps: WorkerDeps) -> TaskService:
    assert deps.services is not None
    assert deps.services.tasks is not None
    return deps.services.tasks


async def due_checks(deps: WorkerDeps) -> list[str]:
    now = deps.clock.now()
    due = await AfterSalesTask.filter(response_due_at__lte=now).values_list("id", "response_token")
    return [await tasks_of(deps).check_response(int(i), int(t)) for i, t in due]


def advance(deps: WorkerDeps, minutes: float) -> None:
    deps.clock.advance(timedelta(minutes=minutes))  # type: ignore[attr-defined]


async def bot_says(purpose: str = "after_sales") -> list[tuple[str, list[str]]]:
    return [(c.content, c.at_list) for c in await Command.filter(purpose=purpose).order_by("id")]


async def test_qr_code_task_assigned_by_skill_user_answers_after_staff_at(deps: WorkerDeps) -> None:
    message = await say(deps, "二维码过期了", "号主A")
    assert message.intervention_case == "needs_after_sales"
    task = await AfterSalesTask.get(user="号主A")
    assert (task.task_type, task.skill, task.status, task.assignee) == ("扫码", "扫码", TaskStatus.ASSIGNED, "售后小王")
    assert (task.assignment_reason, task.auto_assigned_by) == ("技能匹配(扫码)+负载最少", "auto")
    assert await bot_says() == [(f"@售后小王 麻烦跟进一下 号主A 的扫码问题（任务 #{task.id}）", ["售后小王"])]
    again = await say(deps, "二维码又过期了，还是扫不了", "号主A")
    assert again.intervention_case == "needs_after_sales"
    await task.refresh_from_db()
    assert (task.messages, await AfterSalesTask.all().count()) == (2, 1)  # the repeat joined the open task

    advance(deps, 3)
    await say(deps, "@号主A 您好，我重新发了一个码，麻烦扫一下", "售后小王")
    await task.refresh_from_db()
    assert task.status == TaskStatus.WAITING_USER
    assert task.staff_follow_up_time == task.staff_at_user_time == deps.clock.now()
    assert task.response_due_at == deps.clock.now() + timedelta(minutes=10)
    queued = {job.job_id for job in await deps.redis.queued_jobs()}
    assert f"task-check:{task.id}:{task.response_token}" in queued

    advance(deps, 2)
    await say(deps, "在", "号主A")
    await task.refresh_from_db()
    assert (task.status, task.user_response_status, task.user_cooperation_level) == (
        TaskStatus.IN_PROGRESS,
        UserResponse.RESPONDED,
        Cooperation.HIGH,
    )
    assert task.user_response_s == 120
    advance(deps, 30)
    assert await due_checks(deps) == []  # nothing left to check
    assert await Alert.filter(kind="user_no_response").count() == 0


async def test_a_silent_user_is_reminded_once_then_times_out_with_an_alert(deps: WorkerDeps) -> None:
    await say(deps, "我登录不上了，提示密码错误", "号主B")
    task = await AfterSalesTask.get(user="号主B")
    assert (task.task_type, task.assignee) == ("登录", "售后小王")
    await say(deps, "@号主B 您好，麻烦看下手机收到的验证信息", "售后小王")
    advance(deps, 9)
    assert await due_checks(deps) == []
    advance(deps, 1)
    assert await due_checks(deps) == ["reminded"]
    assert await due_checks(deps) == []  # the same job again: nothing
    reminders = [text for text, at in await bot_says() if at == ["号主B"]]
    assert reminders == ["@号主B 您好，登录的问题还需要您配合一下，看到请回复一下哦"]
    advance(deps, 10)
    assert await due_checks(deps) == ["timeout"]
    await task.refresh_from_db()
    assert (task.user_response_status, task.user_cooperation_level, task.response_due_at) == (
        UserResponse.TIMEOUT,
        Cooperation.LOW,
        None,
    )
    alert = await Alert.get(kind="user_no_response")
    assert (alert.subject, alert.conversation_id, alert.status) == ("号主B", task.conversation_id, AlertStatus.OPEN)
    assert alert.title == "号主未响应 · 客户群1"
    # The user finally answers: the alert is cancelled as user_responded.
    await say(deps, "不好意思刚看到", "号主B")
    await alert.refresh_from_db()
    assert (alert.status, alert.cancel_reason) == (AlertStatus.CANCELLED, "user_responded")


async def test_with_alerts_disabled_a_timed_out_user_opens_no_alert(
    db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    # alerts.enabled false: no job would ever step an alert, so none may be opened (as before c5d688f).
    async with worker_deps(db_url, redis_url, tmp_path, clock, services=True, alerts=False) as deps:
        await say(deps, "我登录不上了，提示密码错误", "号主B")
        await say(deps, "@号主B 您好，麻烦看下手机收到的验证信息", "售后小王")
        advance(deps, 10)
        assert await due_checks(deps) == ["reminded"]
        advance(deps, 10)
        assert await due_checks(deps) == ["timeout"]
        task = await AfterSalesTask.get(user="号主B")
        assert task.user_response_status == UserResponse.TIMEOUT
        assert await Alert.all().count() == 0


async def test_a_refusal_is_recorded_low(deps: WorkerDeps) -> None:
    await say(deps, "验证码收不到", "号主C")
    await say(deps, "@号主C 麻烦把收到的验证码发我一下", "售后小王")
    await say(deps, "不弄了，别找我", "号主C")
    task = await AfterSalesTask.get(user="号主C")
    assert (task.user_response_status, task.user_cooperation_level) == (UserResponse.REFUSED, Cooperation.LOW)
    assert await Alert.filter(kind="user_refused", subject="号主C").count() == 1  # opened by the alerts step


async def test_untouched_and_off_shift_tasks_are_reassigned(deps: WorkerDeps) -> None:
    deps.clock.advance(timedelta(hours=4))  # type: ignore[attr-defined]  # 14:00: both on shift
    await say(deps, "账号被限流了", "号主D")  # 封号/限流: only 售后小李 has the skill
    task = await AfterSalesTask.get(user="号主D")
    assert (task.assignee, task.assignment_reason) == ("售后小李", "技能匹配(封号/限流)+负载最少")
    ctx: dict[str, Any] = {"deps": deps}
    advance(deps, 59)
    assert (await sweep_tasks(ctx))["reassigned"] == 0
    advance(deps, 2)  # an hour without a word from staff
    assert (await sweep_tasks(ctx))["reassigned"] == 1
    await task.refresh_from_db()
    assert (task.assignee, task.reassignments, task.auto_assigned_by) == ("售后小王", 1, "auto")
    assert task.assignment_reason == "无其他封号/限流技能人员+负载最少"
    assert (await bot_says())[-1] == (f"@售后小王 麻烦跟进一下 号主D 的封号/限流问题（任务 #{task.id}）", ["售后小王"])
    events = await TaskEvent.filter(task_id=task.id).order_by("id").values_list("action", flat=True)
    assert [str(e) for e in events] == ["created", "assigned", "reassigned"]
    deps.clock.advance(timedelta(hours=7))  # type: ignore[attr-defined]  # 22:00: 小王's shift is over
    await sweep_tasks(ctx)
    await task.refresh_from_db()
    assert task.assignee == "售后小李"


async def test_nobody_on_shift_leaves_the_task_pending_until_someone_comes(deps: WorkerDeps) -> None:
    deps.clock.advance(timedelta(hours=22))  # type: ignore[attr-defined]  # 08:00 the next day
    await say(deps, "人脸识别一直失败", "号主E")
    task = await AfterSalesTask.get(user="号主E")
    assert (task.status, task.assignee, task.assignment_reason) == (TaskStatus.PENDING, None, "无人在班")
    advance(deps, 61)  # 09:01: 售后小王 starts
    assert (await sweep_tasks({"deps": deps}))["assigned"] == 1
    await task.refresh_from_db()
    assert (task.status, task.assignee) == (TaskStatus.ASSIGNED, "售后小王")


async def test_completing_resolves_the_tasks_alerts_and_closing_twice_is_refused(deps: WorkerDeps) -> None:
    await say(deps, "二维码过期了", "号主F")
    task = await AfterSalesTask.get(user="号主F")
    deps.clock.advance(timedelta(hours=25))  # type: ignore[attr-defined]
    assert (await sweep_tasks({"deps": deps}))["overdue"] == 1
    assert (await sweep_tasks({"deps": deps}))["overdue"] == 0  # one alert, not one per sweep
    overdue = await Alert.get(kind="task_overdue")
    assert overdue.subject == f"task:{task.id}"
    async with in_transaction() as conn:
        done = await tasks_of(deps).close(task.id, completed=True, actor="售后小王", note="已重新扫码", conn=conn)
    assert (done.status, done.closed_by, done.open_key) == (TaskStatus.COMPLETED, "售后小王", None)
    await overdue.refresh_from_db()
    assert (overdue.status, overdue.cancel_reason) == (AlertStatus.CANCELLED, "resolved")
    with pytest.raises(TaskError, match="already completed"):
        async with in_transaction() as conn:
            await tasks_of(deps).close(task.id, completed=False, actor="x", note="", conn=conn)
    await say(deps, "二维码又过期了", "号主F")  # a new problem after completion: a new task
    assert await AfterSalesTask.filter(user="号主F").count() == 2


def test_clock_starts_at_ten_in_shanghai(clock: FrozenClock) -> None:
    assert clock.now().hour == UTC_10
    assert isinstance(clock.now(), datetime)
