"""Alerts across real processes: `hub serve`, `hub worker` (killed and restarted), `hub sim`, a real Redis
(flushed mid-run), each database, and the fake WeCom / Alibaba Cloud servers checking every signature.

The levels come every few seconds (a copy of the rules with short offsets). Whatever happens to the worker
or to Redis between steps, every level is reached once and every notification reaches its provider once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
import yaml

from bot.db import open_db
from bot.embedded_redis import free_port
from models.alerts import Alert, AlertEvent, Notification, NotificationStatus
from tests.conftest import REPO
from tests.fakes.providers import FakeProviders, run_fake_providers
from tests.integration.hub import server, spawn, spawn_sim, stop
from tests.integration.test_commands_loop import SCENARIO, call, loop_env
from tests.waiting import until

pytestmark = pytest.mark.slow
COMPLAINT = "说好的收益呢？一分钱没看到"
STEP_S = 6  # seconds between levels


def fast_rules(tmp_path: Path) -> Path:
    """The shipped rules, with levels STEP_S apart, no quiet hours and everyone on shift all day."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    alerts = yaml.safe_load((rules / "alerts.yaml").read_text(encoding="utf-8"))
    for n, level in enumerate(alerts["levels"]):
        level["after_minutes"] = n * STEP_S / 60
    alerts["quiet_hours"] = None
    (rules / "alerts.yaml").write_text(yaml.safe_dump(alerts, allow_unicode=True), encoding="utf-8")
    people = yaml.safe_load((rules / "people.yaml").read_text(encoding="utf-8"))
    for person in people["people"]:
        person["shift"] = {"hours": "00:00-24:00"}
    (rules / "people.yaml").write_text(yaml.safe_dump(people, allow_unicode=True), encoding="utf-8")
    return rules


async def alert_state(db_url: str) -> dict[str, Any] | None:
    async with open_db(db_url):
        alert = await Alert.filter(kind="complaint_unhandled").first()
        if alert is None:
            return None
        rows = await Notification.filter(alert_id=alert.id)
        events = await AlertEvent.filter(alert_id=alert.id).order_by("id").values_list("action", "level")
        return {"alert": alert, "rows": rows, "events": events}


def delivered(rows: list[Notification], level: int) -> bool:
    mine = [r for r in rows if r.level == level]
    return bool(mine) and all(
        r.status is not NotificationStatus.PENDING and r.status is not NotificationStatus.SENDING for r in mine
    )


async def reached(db_url: str, level: int) -> bool:
    state = await alert_state(db_url)
    return state is not None and state["alert"].level >= level and delivered(state["rows"], level)


def provider_calls(fakes: FakeProviders) -> Counter[tuple[str, str]]:
    calls = [*fakes.wecom.of("wecom_app"), *fakes.aliyun.of("aliyun_voice"), *fakes.aliyun.of("aliyun_sms")]
    return Counter((call.channel, call.recipient) for call in calls)


async def test_killed_worker_and_flushed_redis_lose_no_step_and_repeat_no_notification(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    sim_port = free_port()
    async with run_fake_providers() as fakes:
        env = loop_env(
            db_url,
            redis_url,
            tmp_path,
            free_port(),
            sim_port,
            HUB__RULES_DIR=str(fast_rules(tmp_path)),
            HUB__ALERTS__GATHER_S="0.5",
            HUB__ALERTS__VOICE_PER_CALLEE_PER_MINUTE="10",
            **fakes.env(),
        )
        log = tmp_path / "hub.log"
        sim = f"http://127.0.0.1:{sim_port}"
        workers: list[subprocess.Popen[bytes]] = []
        with server(env, log):
            simulator = spawn_sim(sim_port, int(env["HUB__SERVER__PORT"]), env, log, "--scenario", SCENARIO)
            try:
                workers.append(spawn("worker", env, tmp_path / "worker0.log"))
                await call(
                    "POST", f"{sim}/_sim/play", {"messages": [{"group": "客户群1", "from": "号主A", "text": COMPLAINT}]}
                )
                await until("level 1 delivered", lambda: reached(db_url, 1), timeout_s=30)
                # Killed between steps, and Redis loses every scheduled job with it.
                workers[-1].send_signal(signal.SIGKILL)
                workers[-1].wait()
                redis_sync.Redis.from_url(redis_url).flushall()
                workers.append(spawn("worker", env, tmp_path / "worker1.log"))
                await until("level 3 delivered", lambda: reached(db_url, 3), timeout_s=60)
                workers[-1].send_signal(signal.SIGKILL)  # and once more, without a flush
                workers[-1].wait()
                workers.append(spawn("worker", env, tmp_path / "worker2.log"))
                await until("level 4 delivered", lambda: reached(db_url, 4), timeout_s=60)
            finally:
                codes = [stop(w, log=tmp_path / "worker2.log") for w in workers[2:]]
                stop(simulator, log=log)
        assert codes == [0] * len(codes)
        state = await alert_state(db_url)
        assert state is not None
        assert [level for action, level in state["events"] if action == "escalated"] == [2, 3, 4]
        rows: list[Notification] = state["rows"]
        assert {r.status for r in rows} <= {NotificationStatus.SENT, NotificationStatus.DELIVERED}
        people = yaml.safe_load((REPO / "rules" / "people.yaml").read_text(encoding="utf-8"))["people"]
        by_name = {p["name"]: p for p in people}
        provider = {
            "wecom_app": ("wecom_app", "wecom_userid"),
            "phone": ("aliyun_voice", "phone"),
            "sms": ("aliyun_sms", "phone"),
        }
        # Rows due together for one person go out as one message (they share a batch): count messages.
        messages = {(r.channel, r.recipient, r.batch) for r in rows if r.channel in provider}
        expected: Counter[tuple[str, str]] = Counter()
        for channel, recipient, _batch in messages:
            name, address = provider[channel]
            expected[name, by_name[recipient][address]] += 1
        # Exactly once: every provider call has its row and no row reached a provider twice.
        assert provider_calls(fakes) == expected
        assert sum(expected.values()) >= 10
        assert any(r.channel == "group_reminder" for r in rows)
