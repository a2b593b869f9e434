"""Alerts end to end in one process, on an injected clock: the shipped rules, both databases, a real
Redis, and the fake WeCom / Alibaba Cloud providers over real HTTP (they check every signature).

`run_due` does what the arq jobs do when their time comes (every due step, then every due delivery);
the jobs' scheduling is covered at the end and by the process tests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from tortoise.transactions import in_transaction

from bot.alerts.channels import build_channels
from bot.alerts.delivery import Deliverer, send_limits
from bot.alerts.ratelimit import SendLimits
from bot.alerts.service import STEP_SLOT_MS, AlertService, AlertSpec, Wakeups
from bot.api.alerts import ALERTS
from bot.app import create_app
from bot.clock import FrozenClock
from bot.commands.service import Commands
from bot.db import open_db
from bot.job_names import DELIVER_JOB, STEP_JOB
from bot.queue import arq_redis
from bot.reference import load_directory, sync_reference_data
from bot.understanding.store import RuleStore
from handlers.pipeline import Services
from handlers.steps import FULL_STEPS
from jobs.alerts import sweep_alerts
from jobs.processing import WorkerDeps
from models.alerts import Alert, AlertEvent, AlertStatus, Notification, NotificationStatus
from models.commands import Command, CommandStatus
from models.messages import InboundMessage
from models.robots import Robot
from tests.bot.wecom.test_callback import (
    AES_KEY,
    CORP_ID,
    NONCE,
    TOKEN,
    encrypt,
    query,
    reply_text,
    signature,
    text_xml,
)
from tests.bot.wecom.test_callback import body as wecom_body
from tests.conftest import build_settings
from tests.fakes.providers import FakeProviders, run_fake_providers
from tests.jobs import chat

COMPLAINT = "说好的收益呢？一分钱没看到"
WECOM_IDS = {"售后小王": "wangxiao", "售后小李": "lixiao", "张经理": "zhangjl"}
PHONES = {"售后小王": "13800000001", "售后小李": "13800000002", "张经理": "13800000009"}


@dataclass
class Env:
    deps: WorkerDeps
    alerts: AlertService
    deliverer: Deliverer
    fakes: FakeProviders
    clock: FrozenClock


@pytest.fixture
async def env(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Env]:
    async with run_fake_providers() as fakes, aiohttp.ClientSession() as session:
        settings = build_settings(db_url, redis_url, tmp_path, alerts=fakes.alert_settings())
        async with open_db(db_url):
            directory, people = load_directory(settings)
            await sync_reference_data(settings, people)
            redis = arq_redis(redis_url)
            rules = RuleStore(Path(settings.rules_dir))
            commands = Commands(settings, redis, clock)
            alerts = AlertService(settings, directory, lambda: rules.current.alerts, redis, clock)
            # The providers sign with the real time (a protocol matter); the business runs on `clock`.
            channels = build_channels(settings.alerts, session, redis)
            deliverer = Deliverer(alerts, channels, SendLimits(redis, send_limits(settings.alerts), clock), commands)
            services = Services(settings, rules, commands, None, alerts)
            deps = WorkerDeps(settings, directory, redis, clock, FULL_STEPS, services=services, deliverer=deliverer)
            yield Env(deps, alerts, deliverer, fakes, clock)
            await redis.aclose()


async def say(env: Env, text: str, sender: str = "号主A", group: str = "客户群1") -> InboundMessage:
    return await chat.say(env.deps, text, sender, group)


async def run_due(env: Env) -> None:
    """Every step and delivery due at the clock's now, as their jobs run them (twice: a job may run
    again, and must change nothing the second time)."""
    for _ in range(2):
        for _round in range(5):
            steps = await env.alerts.step_due()
            env.clock.advance(env.alerts.gather)  # deliveries wait that long for more rows to one target
            sent = await env.deliverer.deliver_due()
            if not steps and not sent:
                break


def slot_job(kind: str, due: datetime, slot_ms: int) -> str:
    """The id of the job that runs what is due at `due`: the due time rounded up to its slot."""
    return f"{kind}:{-(-int(due.timestamp() * 1000) // slot_ms) * slot_ms}"


async def later(env: Env, minutes: float) -> None:
    env.clock.advance(timedelta(minutes=minutes))
    await run_due(env)


def app_messages(fakes: FakeProviders) -> list[tuple[str, str]]:
    """(userid, first line) of every WeCom app message the fake accepted."""
    return [(c.recipient, c.params["markdown"]["content"].splitlines()[0]) for c in fakes.wecom.of("wecom_app")]


async def test_complaint_escalates_to_level_2_then_staff_reply_cancels_it(env: Env) -> None:
    message = await say(env, COMPLAINT)
    assert message.intervention_case == "needs_staff_now"
    alert = await Alert.get(source_message_id=message.id)
    assert (alert.kind, alert.level, alert.subject, alert.title) == (
        "complaint_unhandled",
        1,
        "号主A",
        "投诉未处理 · 客户群1",
    )
    await run_due(env)
    assert app_messages(env.fakes) == [("wangxiao", "## 【信息告警】投诉未处理 · 客户群1 · 号主A")]
    assert f"已处理 #{alert.id}" in env.fakes.wecom.calls[0].params["markdown"]["content"]

    await later(env, 29)
    assert len(env.fakes.wecom.calls) == 1  # not yet
    await later(env, 1)  # 30 minutes: level 2 to staff and supervisor, and an @ again in the group
    await alert.refresh_from_db()
    assert (alert.level, alert.escalation_count) == (2, 1)
    assert sorted(app_messages(env.fakes)[1:]) == [
        ("lixiao", "## 【警告告警】投诉未处理 · 客户群1 · 号主A"),
        ("wangxiao", "## 【警告告警】投诉未处理 · 客户群1 · 号主A"),
    ]
    reminder = await Command.get(purpose="alert")
    assert (reminder.target, reminder.at_list) == ("客户群1", ["售后小王", "售后小李"])
    assert reminder.content.startswith("【警告告警】投诉未处理")

    reply = await say(env, "@号主A 您好，收益明细我这边马上帮您核对", sender="售后小王")
    assert reply.intervention_case == "staff_took_over"
    await alert.refresh_from_db()
    assert (alert.status, alert.cancel_reason, alert.cancelled_by) == (
        AlertStatus.CANCELLED,
        "staff_intervened",
        "售后小王",
    )
    for _ in range(4):
        await later(env, 30)
    assert len(env.fakes.wecom.calls) == 3  # nothing more
    assert env.fakes.aliyun.calls == []
    assert await Command.filter(purpose="alert").count() == 1


async def test_an_unanswered_complaint_reaches_level_4_with_each_call_and_sms_once(env: Env) -> None:
    message = await say(env, COMPLAINT)
    await run_due(env)
    for _ in range(3):
        await later(env, 30)
    alert = await Alert.get(source_message_id=message.id)
    assert (alert.level, alert.max_level, alert.status) == (4, 4, AlertStatus.OPEN)
    voice = Counter(c.recipient for c in env.fakes.aliyun.of("aliyun_voice"))
    sms = Counter(c.recipient for c in env.fakes.aliyun.of("aliyun_sms"))
    # Level 3 calls staff, supervisor and manager; level 4 calls the escalation list and the manager again.
    assert voice == {PHONES["售后小王"]: 2, PHONES["售后小李"]: 2, PHONES["张经理"]: 2}
    assert sms == {PHONES["售后小王"]: 1, PHONES["售后小李"]: 1, PHONES["张经理"]: 1}
    rows = await Notification.filter(alert_id=alert.id)
    assert all(r.status is NotificationStatus.SENT for r in rows if r.channel in ("phone", "sms", "wecom_app"))
    assert Counter((r.level, r.channel) for r in rows) == {
        (1, "wecom_app"): 1,
        (2, "wecom_app"): 2,
        (2, "group_reminder"): 2,
        (3, "wecom_app"): 3,
        (3, "phone"): 3,
        (4, "wecom_app"): 3,
        (4, "phone"): 3,
        (4, "sms"): 3,
    }
    params = env.fakes.aliyun.of("aliyun_sms")[0].params
    assert params["TemplateParam"]  # the fake checked sign name, template and signature
    await later(env, 60 * 24)  # past max_age: expired, and nothing more goes out
    await alert.refresh_from_db()
    assert (alert.status, alert.cancel_reason) == (AlertStatus.CANCELLED, "expired")
    assert len(env.fakes.aliyun.calls) == 9


async def test_a_second_complaint_moves_the_alert_up_at_once(env: Env) -> None:
    await say(env, COMPLAINT)
    await run_due(env)
    await later(env, 1)
    await say(env, "钱呢？？到底给不给")  # a burst within the cool-down: counted, not escalated
    alert = await Alert.get(kind="complaint_unhandled")
    assert (alert.level, alert.occurrences) == (1, 2)
    await later(env, 5)
    await say(env, "你们到底管不管？钱呢，再不给我就投诉你们")
    alert = await Alert.get(kind="complaint_unhandled")
    assert (alert.level, alert.occurrences, alert.status) == (2, 3, AlertStatus.OPEN)
    assert await Alert.all().count() == 1
    assert alert.next_escalation_at == alert.opened_at + timedelta(minutes=60)  # level 3 keeps its time
    await run_due(env)
    assert len(env.fakes.wecom.of("wecom_app")) == 3


async def test_staff_closing_an_alert_by_id_from_another_group(env: Env) -> None:
    message = await say(env, COMPLAINT)
    alert = await Alert.get(source_message_id=message.id)
    await say(env, f"已处理 #{alert.id}", sender="张经理", group="管理群")
    await alert.refresh_from_db()
    assert (alert.status, alert.cancel_reason, alert.cancelled_by) == (AlertStatus.CANCELLED, "manual", "张经理")
    await run_due(env)
    assert env.fakes.wecom.calls == []  # cancelled before its first delivery: skipped, never sent
    assert {r.status for r in await Notification.filter(alert_id=alert.id)} == {NotificationStatus.SKIPPED}


async def test_a_provider_failure_is_retried_only_when_it_surely_did_not_act(env: Env) -> None:
    env.fakes.wecom.fail_next(1, status=503)
    await say(env, COMPLAINT)
    await run_due(env)
    row = await Notification.get(channel="wecom_app")
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)  # a 503: WeCom did not act
    await later(env, 1)
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
    assert len(env.fakes.wecom.of("wecom_app")) == 1


async def test_a_user_without_a_wecom_id_falls_back_to_the_group_webhook(env: Env, tmp_path: Path) -> None:
    directory = env.alerts.directory
    person = directory.people["售后小王"].model_copy(update={"wecom_userid": None})
    directory.people.update({name: person for name, p in directory.people.items() if p.name == "售后小王"})
    await say(env, COMPLAINT)
    await run_due(env)
    rows = {r.channel: r for r in await Notification.all()}
    assert rows["wecom_app"].status is NotificationStatus.FAILED
    assert rows["wecom_app"].error is not None
    assert rows["wecom_webhook"].status is NotificationStatus.SENT
    assert rows["wecom_webhook"].origin_channel == "wecom_app"
    hooks = env.fakes.wecom.of("wecom_webhook")
    assert [c.params["msgtype"] for c in hooks] == ["markdown", "text"]
    assert hooks[1].params["text"]["mentioned_mobile_list"] == [PHONES["售后小王"]]


async def test_the_sweeper_schedules_what_is_overdue_and_settles_interrupted_sends(env: Env) -> None:
    message = await say(env, COMPLAINT)
    alert = await Alert.get(source_message_id=message.id)
    row = await Notification.get(alert_id=alert.id)
    redis = env.deps.redis
    queued = {job.job_id: job.function for job in await redis.queued_jobs()}
    assert alert.next_escalation_at is not None
    # One job per slot of due times takes every step (and one per gather slot every delivery) then due.
    assert queued[slot_job("alert-steps", alert.next_escalation_at, STEP_SLOT_MS)] == STEP_JOB
    gather = env.alerts.gather
    assert queued[slot_job("deliver", row.due_at + gather, int(gather.total_seconds() * 1000))] == DELIVER_JOB
    await redis.flushall()  # Redis lost every job
    env.clock.advance(timedelta(minutes=31))
    ctx: dict[str, Any] = {"deps": env.deps}
    found = await sweep_alerts(ctx)
    assert (found["steps"], found["deliveries"]) == (1, 1)
    queued = {job.job_id: job.function for job in await redis.queued_jobs()}
    assert queued[slot_job("alert-steps", env.clock.now(), STEP_SLOT_MS)] == STEP_JOB
    # A sender killed mid-request leaves its row `sending`: later it is `unknown`, never re-sent.
    await Notification.filter(id=row.id).update(status=NotificationStatus.SENDING, claimed_at=env.clock.now())
    env.clock.advance(timedelta(minutes=5))
    assert (await sweep_alerts(ctx))["unknown"] == 1
    await row.refresh_from_db()
    assert row.status is NotificationStatus.UNKNOWN
    await run_due(env)
    assert not [c for c in env.fakes.wecom.of("wecom_app") if c.recipient == "wangxiao" and "信息告警" in str(c.params)]


async def test_a_failed_robot_delivery_opens_command_failed_and_a_later_success_resolves_it(env: Env) -> None:
    await say(env, COMPLAINT)
    await run_due(env)
    await later(env, 30)  # level 2: the group reminder goes through a robot command
    reminder = await Command.get(purpose="alert")
    rows = await Notification.filter(command_id=reminder.id)
    assert {r.channel for r in rows} == {"group_reminder"}
    await Command.filter(id=reminder.id).update(status="failed", error_reason="phone offline")
    await reminder.refresh_from_db()
    await env.deliverer.on_command_outcome(reminder, reminder.status)
    await env.deliverer.on_command_outcome(reminder, reminder.status)  # a job may report twice
    assert {r.status for r in await Notification.filter(command_id=reminder.id)} == {NotificationStatus.FAILED}
    failed = await Alert.get(kind="command_failed")
    assert (failed.subject, failed.level, failed.source_command_id) == ("wt-robot-1", 1, reminder.id)
    levels: list[dict[str, Any]] = failed.policy["levels"]  # type: ignore[assignment]
    policy_channels = {c for lv in levels for c in lv["channels"]}
    assert policy_channels.isdisjoint({"group_reminder", "worktool_group"})  # never through the robots
    assert await Alert.filter(kind="command_failed").count() == 1
    await run_due(env)
    assert ("zhangjl", "## 【信息告警】机器人消息发送失败 · 小助手 · wt-robot-1") in app_messages(env.fakes)
    await env.deliverer.on_command_outcome(reminder, CommandStatus.SUCCEEDED)  # a late success
    await failed.refresh_from_db()
    assert (failed.status, failed.cancel_reason) == (AlertStatus.CANCELLED, "resolved")


async def test_a_robot_offline_for_long_opens_one_alert_and_coming_back_resolves_it(env: Env) -> None:
    ctx: dict[str, Any] = {"deps": env.deps}
    now = env.clock.now()
    await Robot.filter(id="wt-robot-2").update(online=False, online_changed_at=now - timedelta(seconds=30))
    await sweep_alerts(ctx)
    assert await Alert.filter(kind="robot_offline").count() == 0  # a short flap is no alert
    env.clock.advance(timedelta(minutes=3))
    await sweep_alerts(ctx)
    await sweep_alerts(ctx)
    alert = await Alert.get(kind="robot_offline")
    assert (alert.subject, alert.level, alert.occurrences) == ("wt-robot-2", 2, 1)  # starts at level 2, once
    await run_due(env)
    # Level 2: the managers (responsible for robots) and the supervisor; no group to remind in.
    assert sorted(userid for userid, _ in app_messages(env.fakes)) == ["lixiao", "zhangjl"]
    assert await Notification.filter(alert_id=alert.id).count() == 2
    await Robot.filter(id="wt-robot-2").update(online=True, online_changed_at=env.clock.now())
    await sweep_alerts(ctx)
    await alert.refresh_from_db()
    assert (alert.status, alert.cancel_reason, alert.cancel_note) == (
        AlertStatus.CANCELLED,
        "resolved",
        "robot back online",
    )


async def test_a_storm_of_due_steps_and_deliveries_runs_each_once_with_two_workers_at_a_time(env: Env) -> None:
    """More alerts due at once than a batch takes, stepped and delivered by two runners at the same time (two
    workers: on PostgreSQL each batch locks its rows and skips the other's; on SQLite they take turns)."""
    wake = Wakeups()
    async with in_transaction() as conn:
        for n in range(14):
            spec = AlertSpec(kind="complaint_unhandled", subject=f"号主{n}", detail="storm")
            await env.alerts.open(spec, env.clock.now(), conn, wake)
    ids = sorted([a.id for a in await Alert.all()])
    env.clock.advance(timedelta(minutes=30))
    first, second = await asyncio.gather(env.alerts.step_due(limit=4), env.alerts.step_due(limit=4))
    assert sorted([*first, *second]) == ids  # each alert stepped by one of them
    assert set(first.values()) | set(second.values()) == {"escalated"}
    assert await env.alerts.step_due() == {}  # nothing left due
    assert await env.alerts.step(ids[0], 1) == "stale"  # a job with the old token changes nothing
    events = Counter(await AlertEvent.filter(action="escalated").values_list("alert_id", flat=True))
    assert events == dict.fromkeys(ids, 1)
    alerts = await Alert.filter(id__in=ids)
    assert {(a.level, a.step_token, a.escalation_count) for a in alerts} == {(2, 2, 1)}
    assert {a.next_escalation_at for a in alerts} == {a.opened_at + timedelta(minutes=60) for a in alerts}
    env.clock.advance(env.alerts.gather)
    while sum(await asyncio.gather(env.deliverer.deliver_due(), env.deliverer.deliver_due())):
        pass
    rows = await Notification.filter(alert_id__in=ids, channel="wecom_app")
    assert {r.status for r in rows} == {NotificationStatus.SENT}
    assert {r.level for r in rows} == {1, 2}
    # Exactly once: one accepted WeCom call per batch of rows, each batch at most six alerts, no row twice.
    batches = Counter(r.batch for r in rows)
    assert max(batches.values()) <= 6
    calls = Counter(c.provider_id for c in env.fakes.wecom.of("wecom_app"))
    assert set(calls.values()) == {1}
    assert set(calls) == {r.provider_id for r in rows}
    assert len(calls) == len(batches)


async def test_the_user_answering_cancels_the_no_response_alert_about_them(env: Env) -> None:
    first = await say(env, "好的")
    wake = Wakeups()
    async with in_transaction() as conn:
        for subject in ("号主A", "号主B"):
            spec = AlertSpec(kind="user_no_response", subject=subject, conversation_id=first.conversation_id)  # type: ignore[attr-defined]
            await env.alerts.open(spec, env.clock.now(), conn, wake)
    await say(env, "在的，刚才在开会")
    states = dict(await Alert.filter(kind="user_no_response").values_list("subject", "cancel_reason"))
    assert states == {"号主A": "user_responded", "号主B": None}


async def test_members_close_and_claim_alerts_from_the_wecom_app(env: Env, aiohttp_client: Callable[..., Any]) -> None:
    wecom = env.deps.settings.alerts.wecom.model_copy(
        update={"callback_token": SecretStr(TOKEN), "callback_aes_key": SecretStr(AES_KEY), "corp_id": CORP_ID}
    )
    hub = env.deps.settings.model_copy(update={"alerts": env.deps.settings.alerts.model_copy(update={"wecom": wecom})})
    client = await aiohttp_client(create_app(hub, clock=env.clock))
    await say(env, COMPLAINT)
    await say(env, COMPLAINT, sender="号主B")
    ids = sorted(await Alert.all().values_list("id", flat=True))
    assert len(ids) == 2
    assert client.server.app[ALERTS] is not None

    async def reply(text: str, msg_id: int) -> str:
        encrypted = encrypt(text_xml(text, userid="zhangjl", msg_id=msg_id))
        now = str(int(env.clock.now().timestamp()))  # signed now: a stale timestamp is refused
        signed = query(encrypted, timestamp=now, msg_signature=signature(TOKEN, now, NONCE, encrypted))
        resp = await client.post("/wecom/callback", params=signed, data=wecom_body(encrypted))
        assert resp.status == 200
        return reply_text(await resp.text())

    assert await reply(f"已处理 #{ids[0]}", 1) == f"告警 #{ids[0]} 已取消"
    assert await reply(f"接手 #{ids[1]}", 2) == f"告警 #{ids[1]} 已被 张经理 接手"
    assert (await reply(f"已处理 #{ids[0]}", 3)).startswith(f"告警 #{ids[0]} 已于")  # already closed
    closed = {a.id: a for a in await Alert.all()}
    assert (closed[ids[0]].cancel_reason, closed[ids[0]].cancelled_by) == ("manual", "张经理")
    assert closed[ids[1]].claimed_by == "张经理"
    await run_due(env)
    assert env.fakes.wecom.calls == []  # both closed before their first delivery
