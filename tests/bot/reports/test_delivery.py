"""Making and delivering the daily report on an injected clock: both databases, a real Redis, the fake
WeCom webhook over real HTTP, our robot in the managers' group through the real commands layer, and the
cron job as the worker runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.alerts.channels import build_channels
from bot.alerts.delivery import Deliverer, send_limits
from bot.alerts.ratelimit import SendLimits
from bot.alerts.service import AlertService
from bot.clock import FrozenClock
from bot.commands.service import Commands
from bot.db import open_db
from bot.queue import arq_redis
from bot.reference import load_directory, sync_reference_data
from bot.reports.delivery import NO_CHANNEL, Reporter, delivery_of, due_day, figures_of
from bot.settings import AlertSettings, Settings
from bot.understanding.store import RuleStore
from handlers.pipeline import Services
from jobs.processing import WorkerDeps
from jobs.reports import daily_report_job, report_outcome_listener, reporter_for
from models.alerts import Alert, AlertStatus
from models.commands import Command, CommandStatus
from models.tasks import DailyReport
from tests.bot.reports import seed
from tests.bot.reports.seed import local
from tests.conftest import build_settings
from tests.fakes.providers import FakeProviders, run_fake_providers

DAY = date(2026, 11, 19)
MANAGERS_GROUP = "经理群"


@dataclass
class Env:
    deps: WorkerDeps
    fakes: FakeProviders
    clock: FrozenClock

    @property
    def reporter(self) -> Reporter:
        return reporter_for(self.deps)

    def webhook_calls(self) -> list[str]:
        return [call.params["markdown"]["content"] for call in self.fakes.wecom.of("wecom_webhook")]

    async def run(self) -> dict[str, object]:
        return await daily_report_job({"deps": self.deps})

    def at(self, moment: datetime) -> None:
        self.clock.advance(moment - self.clock.now())


EnvFactory = Callable[..., Any]


@pytest.fixture
async def make_env(db_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[EnvFactory]:
    """Builds the worker's dependencies once per test, with the alert settings the test asks for."""
    async with run_fake_providers() as fakes, aiohttp.ClientSession() as session, open_db(db_url):
        redis = arq_redis(redis_url)
        clock = FrozenClock(local(20, 8, 59).astimezone(UTC))  # the 20th, a minute before 09:00

        async def build(*, webhook: bool = True, group: str | None = None, **reports: Any) -> Env:
            alerts_cfg: AlertSettings = fakes.alert_settings() if webhook else AlertSettings()
            alerts_cfg = alerts_cfg.model_copy(update={"worktool_group": group})
            base = build_settings(db_url, redis_url, tmp_path, alerts=alerts_cfg)
            settings: Settings = base.model_copy(update={"reports": base.reports.model_copy(update=reports)})
            directory, people = load_directory(settings)
            await sync_reference_data(settings, people)
            rules = RuleStore(Path(settings.rules_dir))
            commands = Commands(settings, redis, clock)
            alerts = AlertService(settings, directory, lambda: rules.current.alerts, redis, clock)
            channels = build_channels(settings.alerts, session, redis)
            deliverer = Deliverer(alerts, channels, SendLimits(redis, send_limits(settings.alerts), clock), commands)
            services = Services(settings, rules, commands, None, alerts)
            deps = WorkerDeps(settings, directory, redis, clock, services=services, deliverer=deliverer)
            return Env(deps, fakes, clock)

        yield build
        await redis.aclose()


def test_due_day_is_yesterday_once_daily_at_has_passed() -> None:
    assert due_day(local(20, 8, 59, 59), "09:00") is None
    assert due_day(local(20, 9), "09:00") == DAY
    assert due_day(local(20, 23, 59), "09:00") == DAY
    assert due_day(local(21, 0, 1), "09:00") is None  # a new day: its report is due at its own 09:00


async def test_made_and_delivered_once_through_the_webhook(make_env: EnvFactory) -> None:
    env: Env = await make_env()
    await seed.task(local(19, 10), completed_at=local(19, 11))

    assert await env.run() == {"made": None, "deliveries": {}}  # 08:59 local: not yet
    assert await DailyReport.all().count() == 0

    env.at(local(20, 9))
    assert await env.run() == {"made": "2026-11-19", "deliveries": {"2026-11-19": "delivered"}}
    calls = env.webhook_calls()
    assert len(calls) == 1
    assert calls[0].startswith("## 售后日报 · 2026-11-19\n")
    assert "> 新建 1 · 完成 1" in calls[0]
    report = await DailyReport.get(day=DAY)
    assert report.delivered_at == env.clock.now()
    assert (report.delivery_attempts, report.next_attempt_at) == (1, None)
    assert report.delivery_error is None
    assert figures_of(report)["tasks"]["created"] == 1
    assert delivery_of(report)["wecom_webhook"]["provider"] == "webhook"
    assert report.markdown == calls[0]
    assert report.html.startswith("<!DOCTYPE html>")

    for minutes in (1, 60, 600):  # the cron keeps running all day
        env.at(local(20, 9) + timedelta(minutes=minutes))
        assert await env.run() == {"made": None, "deliveries": {}}
    assert len(env.webhook_calls()) == 1


async def test_remaking_a_delivered_day_recomputes_but_never_resends(make_env: EnvFactory) -> None:
    env: Env = await make_env()
    env.at(local(20, 9))
    await env.run()
    delivered = await DailyReport.get(day=DAY)
    await seed.task(local(19, 15))  # a late import of the day's data

    remade = await env.reporter.make_daily_report(DAY)
    assert figures_of(remade)["tasks"]["created"] == 1
    assert remade.delivered_at == delivered.delivered_at
    assert remade.data["delivery"] == delivered.data["delivery"]
    assert await env.reporter.deliver_report(DAY) == "already_delivered"
    assert await env.run() == {"made": None, "deliveries": {}}
    assert len(env.webhook_calls()) == 1


async def test_a_failing_webhook_is_retried_then_alerted(make_env: EnvFactory) -> None:
    env: Env = await make_env()  # retry_after_s 300, max_attempts 3 (config.yaml)
    env.fakes.wecom.fail_next(5, status=500)
    env.at(local(20, 9))
    assert await env.run() == {"made": "2026-11-19", "deliveries": {"2026-11-19": "failed"}}
    report = await DailyReport.get(day=DAY)
    assert report.delivery_attempts == 1
    assert report.next_attempt_at == env.clock.now() + timedelta(seconds=300)
    assert report.delivery_error is not None
    assert report.delivery_error.startswith("wecom_webhook: http_500")

    env.clock.advance(timedelta(seconds=299))
    assert await env.run() == {"made": None, "deliveries": {}}  # not due yet
    env.clock.advance(timedelta(seconds=1))
    assert await env.run() == {"made": None, "deliveries": {"2026-11-19": "failed"}}
    assert await Alert.filter(kind="report_undelivered").count() == 0

    env.clock.advance(timedelta(seconds=300))
    assert await env.run() == {"made": None, "deliveries": {"2026-11-19": "gave_up"}}
    report = await DailyReport.get(day=DAY)
    assert (report.delivery_attempts, report.delivered_at, report.next_attempt_at) == (3, None, None)
    alert = await Alert.get(kind="report_undelivered")
    assert (alert.status, alert.subject, alert.title) == (AlertStatus.OPEN, "2026-11-19", "每日报告未送达 · 2026-11-19")
    assert "3 次发送均失败" in alert.detail
    assert env.fakes.wecom.requests >= 3
    assert env.webhook_calls() == []  # the fake accepted none

    env.clock.advance(timedelta(hours=1))
    assert await env.run() == {"made": None, "deliveries": {}}  # given up: no more tries, no second alert
    assert await Alert.filter(kind="report_undelivered").count() == 1


async def test_a_retry_after_one_failure_delivers_once(make_env: EnvFactory) -> None:
    env: Env = await make_env()
    env.fakes.wecom.fail_next(1, code="-1")  # WeCom "system busy"
    env.at(local(20, 9))
    assert (await env.run())["deliveries"] == {"2026-11-19": "failed"}
    env.clock.advance(timedelta(seconds=300))
    assert (await env.run())["deliveries"] == {"2026-11-19": "delivered"}
    assert len(env.webhook_calls()) == 1
    report = await DailyReport.get(day=DAY)
    assert report.delivery_attempts == 2
    assert report.delivery_error is None


async def test_no_channel_configured_stores_the_report_without_retries(make_env: EnvFactory) -> None:
    env: Env = await make_env(webhook=False, group=None)
    env.at(local(20, 9, 30))
    assert await env.run() == {"made": "2026-11-19", "deliveries": {"2026-11-19": "no_channel"}}
    report = await DailyReport.get(day=DAY)
    assert (report.delivered_at, report.delivery_error, report.next_attempt_at) == (None, NO_CHANNEL, None)
    env.clock.advance(timedelta(hours=2))
    assert await env.run() == {"made": None, "deliveries": {}}
    assert await Alert.all().count() == 0


async def test_managers_group_through_a_robot_never_queued_twice(make_env: EnvFactory) -> None:
    env: Env = await make_env(group=MANAGERS_GROUP)
    env.at(local(20, 9))
    # the webhook takes it; our robots have not seen the managers' group yet
    assert (await env.run())["deliveries"] == {"2026-11-19": "failed"}
    report = await DailyReport.get(day=DAY)
    assert report.delivery_error == f"worktool_group: our robots have not seen the group {MANAGERS_GROUP!r} yet"
    assert set(delivery_of(report)) == {"wecom_webhook"}

    group = await seed.conversation(MANAGERS_GROUP, robots=("wt-robot-1",))
    env.clock.advance(timedelta(seconds=300))
    assert (await env.run())["deliveries"] == {"2026-11-19": "delivered"}
    assert len(env.webhook_calls()) == 1  # the retry sent only what was missing
    commands = await Command.filter(reply_key="report:2026-11-19").order_by("part")
    assert commands
    assert {(c.purpose, c.robot_id, c.conversation_id, c.status) for c in commands} == {
        ("report", "wt-robot-1", group.id, CommandStatus.QUEUED)
    }
    assert commands[0].content.startswith("【售后日报】2026-11-19")
    report = await DailyReport.get(day=DAY)
    assert delivery_of(report)["worktool_group"]["command_ids"] == [c.id for c in commands]

    # a second delivery of the same day (a re-made, undelivered report) cannot queue it again
    await DailyReport.filter(day=DAY).update(delivered_at=None, next_attempt_at=env.clock.now(), data={})
    await env.reporter.make_daily_report(DAY)
    assert await env.reporter.deliver_report(DAY) == "delivered"
    assert await Command.filter(reply_key="report:2026-11-19").count() == len(commands)


async def test_a_failed_robot_message_is_recorded_and_alerted(make_env: EnvFactory) -> None:
    env: Env = await make_env(webhook=False, group=MANAGERS_GROUP)
    await seed.conversation(MANAGERS_GROUP, robots=("wt-robot-1",))
    env.at(local(20, 9))
    assert (await env.run())["deliveries"] == {"2026-11-19": "delivered"}
    command = await Command.get(reply_key="report:2026-11-19", part=1)
    await Command.filter(id=command.id).update(status=CommandStatus.UNKNOWN)
    await command.refresh_from_db()

    listener = report_outcome_listener(env.deps)
    await listener(command, CommandStatus.UNKNOWN)
    await listener(command, CommandStatus.UNKNOWN)  # outcomes may be told twice
    report = await DailyReport.get(day=DAY)
    assert report.delivery_error == f"worktool_group: robot command {command.id} unknown:"
    alerts = await Alert.filter(kind="report_undelivered")
    assert [(a.subject, a.status) for a in alerts] == [("2026-11-19", AlertStatus.OPEN)]


async def test_a_day_missed_at_nine_is_made_later_that_day_only(make_env: EnvFactory) -> None:
    env: Env = await make_env()
    env.at(local(20, 23, 59))  # the worker was down all morning
    assert (await env.run())["made"] == "2026-11-19"
    env.at(local(21, 8, 0))  # the next morning before 09:00: nothing
    assert await env.run() == {"made": None, "deliveries": {}}
    env.at(local(21, 9, 0))
    assert (await env.run())["made"] == "2026-11-20"
    assert [r.day for r in await DailyReport.all().order_by("day")] == [DAY, date(2026, 11, 20)]
    assert len(env.webhook_calls()) == 2
