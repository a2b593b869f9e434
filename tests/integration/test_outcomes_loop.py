"""Command outcomes reach the worker's listeners whichever process records them (issue 11 §6), across
real processes: `hub serve` matches result callbacks, `hub worker` runs the alert deliverer, `hub sim` is
the cloud, the fake WeCom server checks signatures. Level 1 goes to the managers' group through our robot,
falling back to the WeCom app:

- the robot's command fails, by result callback → the notification fails and falls back once;
- it succeeds, by result callback → the notification ends `delivered`;
- its callback is lost, the result check finds it in rawMsg/list → `delivered`.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.db import open_db
from bot.embedded_redis import free_port
from models.alerts import Alert, Notification, NotificationStatus
from models.commands import Command
from tests.conftest import REPO
from tests.fakes.providers import run_fake_providers
from tests.integration.hub import server, spawn, spawn_sim, stop
from tests.integration.test_commands_loop import call, loop_env
from tests.waiting import until

pytestmark = pytest.mark.slow
SCENARIO = str(REPO / "tests" / "fixtures" / "scenarios" / "outcomes.yaml")
COMPLAINT = "说好的收益呢？一分钱没看到"
SETTLED = (NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.SENT)


def group_first_rules(tmp_path: Path) -> Path:
    """The shipped rules with level 1 through the managers' group, falling back to the WeCom app; everyone
    on shift, no quiet hours."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    alerts = yaml.safe_load((rules / "alerts.yaml").read_text(encoding="utf-8"))
    alerts["levels"][0]["channels"] = ["worktool_group"]
    alerts["fallback"] = {"worktool_group": ["wecom_app"], "phone": ["sms"]}
    alerts["quiet_hours"] = None
    (rules / "alerts.yaml").write_text(yaml.safe_dump(alerts, allow_unicode=True), encoding="utf-8")
    people = yaml.safe_load((rules / "people.yaml").read_text(encoding="utf-8"))
    for person in people["people"]:
        person["shift"] = {"hours": "00:00-24:00"}
    (rules / "people.yaml").write_text(yaml.safe_dump(people, allow_unicode=True), encoding="utf-8")
    return rules


async def alert_rows(db_url: str, user: str) -> tuple[Alert | None, list[Notification], list[Command]]:
    async with open_db(db_url):
        alert = await Alert.filter(kind="complaint_unhandled", subject=user).first()
        if alert is None:
            return None, [], []
        rows = await Notification.filter(alert_id=alert.id).order_by("id")
        ids = sorted({r.command_id for r in rows if r.command_id is not None})
        return alert, rows, await Command.filter(id__in=ids)


def group_rows(rows: list[Notification]) -> list[Notification]:
    return [r for r in rows if r.channel == "worktool_group"]


async def settled(db_url: str, user: str, *, fallback: bool) -> bool:
    _, rows, commands = await alert_rows(db_url, user)
    group = group_rows(rows)
    if not group or any(r.status in SETTLED for r in group) or any(c.outcome_due for c in commands):
        return False
    app_rows = [r for r in rows if r.channel == "wecom_app"]
    return not fallback or (bool(app_rows) and all(r.status not in SETTLED[:2] for r in app_rows))


async def complain(sim: str, user: str, group: str) -> None:
    await call("POST", f"{sim}/_sim/play", {"messages": [{"group": group, "from": user, "text": COMPLAINT}]})


async def test_robot_delivered_alerts_end_delivered_or_fall_back_once(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    sim_port = free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    async with run_fake_providers() as fakes:
        env = loop_env(
            db_url,
            redis_url,
            tmp_path,
            free_port(),
            sim_port,
            HUB__RULES_DIR=str(group_first_rules(tmp_path)),
            HUB__ALERTS__WORKTOOL_GROUP="管理群",
            HUB__ALERTS__GATHER_S="0.3",
            **fakes.env(),
        )
        log = tmp_path / "hub.log"
        with server(env, log) as base:
            simulator = spawn_sim(sim_port, int(env["HUB__SERVER__PORT"]), env, log, "--scenario", SCENARIO, "--play")
            worker = spawn("worker", env, tmp_path / "worker.log")
            try:
                await until("the managers' group seen", lambda: _seen(base, "管理群"), timeout_s=20)
                # 1. The robot fails the alert's command; the result comes by callback, to the web process.
                await call("POST", f"{sim}/_sim/overrides", {"mode": "failed", "match": "投诉", "times": 1})
                await complain(sim, "号主A", "客户群1")
                await until("号主A's alert settled", lambda: settled(db_url, "号主A", fallback=True), 30)
                # 2. It succeeds, by callback.
                await complain(sim, "号主B", "客户群2")
                await until("号主B's alert settled", lambda: settled(db_url, "号主B", fallback=False), 30)
                # 3. Its callback is lost; the worker's result check finds it in rawMsg/list.
                await call("POST", f"{sim}/_sim/overrides", {"mode": "never", "match": "投诉", "times": 1})
                await complain(sim, "号主C", "客户群1")
                await until("号主C's alert settled", lambda: settled(db_url, "号主C", fallback=False), 30)
                await asyncio.sleep(6)  # past the outcome sweeper's grace: nothing may happen twice
            finally:
                codes = {"worker": stop(worker, log=tmp_path / "worker.log"), "sim": stop(simulator, log=log)}
        assert codes == {"worker": 0, "sim": 0}

        _, rows_a, commands_a = await alert_rows(db_url, "号主A")
        failed = group_rows(rows_a)
        assert {r.status for r in failed} == {NotificationStatus.FAILED}
        assert [c.result_source for c in commands_a] == ["callback"]
        fallbacks = [r for r in rows_a if r.channel == "wecom_app"]
        # Exactly once: one WeCom app row per recipient the group message failed for, each sent once.
        assert sorted(r.recipient for r in fallbacks) == sorted(r.recipient for r in failed)
        sent = [r for r in fallbacks if r.status in (NotificationStatus.SENT, NotificationStatus.DELIVERED)]
        userids = {r.provider_id for r in sent}
        assert sent, [(r.recipient, r.status, r.error) for r in fallbacks]
        calls = [c for c in fakes.wecom.of("wecom_app") if c.provider_id in userids]
        assert len(calls) == len(userids)

        for user, source in (("号主B", "callback"), ("号主C", "poll")):
            _, rows, commands = await alert_rows(db_url, user)
            assert {r.status for r in group_rows(rows)} == {NotificationStatus.DELIVERED}, user
            assert [c.result_source for c in commands] == [source], user
            assert not [r for r in rows if r.channel == "wecom_app"], user


async def _seen(base: str, group: str) -> Any:
    payload = await call("GET", f"{base}/api/conversations?name={group}")
    return payload["data"]["items"] if isinstance(payload["data"], dict) else payload["data"]
