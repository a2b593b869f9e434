"""After-sales tasks through the simulator, across real processes (`hub serve`, `hub worker`, `hub sim`),
each database, real Redis: "二维码过期了" → a task → the right staff member by skill and load → the bot
@s them in the group → staff @ the user → the user says "在" → responded; another user stays silent →
one reminder → timeout → a `user_no_response` alert. The response window is a few seconds here."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.db import open_db
from bot.embedded_redis import free_port
from models.alerts import Alert
from models.messages import InboundMessage
from models.tasks import AfterSalesTask
from tests.conftest import REPO
from tests.integration.test_commands_loop import call, hub_with_sim, loop_env, sim_sends
from tests.waiting import until

pytestmark = pytest.mark.slow
WINDOW_S = 4


def quick_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    assignment = yaml.safe_load((rules / "assignment.yaml").read_text(encoding="utf-8"))
    assignment["response"]["window_minutes"] = WINDOW_S / 60
    (rules / "assignment.yaml").write_text(yaml.safe_dump(assignment, allow_unicode=True), encoding="utf-8")
    people = yaml.safe_load((rules / "people.yaml").read_text(encoding="utf-8"))
    for person in people["people"]:
        person["shift"] = {"hours": "00:00-24:00"}  # the test must not depend on the time of day
    (rules / "people.yaml").write_text(yaml.safe_dump(people, allow_unicode=True), encoding="utf-8")
    return rules


async def task_of(db_url: str, user: str) -> dict[str, Any] | None:
    async with open_db(db_url):
        task = await AfterSalesTask.filter(user=user).first()
        if task is None:
            return None
        return {
            "id": task.id,
            "type": task.task_type,
            "assignee": task.assignee,
            "reason": task.assignment_reason,
            "status": task.status.value,
            "response": task.user_response_status.value,
            "cooperation": task.user_cooperation_level.value,
            "reminded": task.reminded_at is not None,
        }


async def processed(db_url: str, text: str) -> bool:
    async with open_db(db_url):
        return await InboundMessage.exists(text=text, state="processed")


async def test_a_task_is_assigned_the_user_answers_and_a_silent_one_times_out(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    sim_port = free_port()
    env = loop_env(db_url, redis_url, tmp_path, free_port(), sim_port, HUB__RULES_DIR=str(quick_rules(tmp_path)))
    sim = f"http://127.0.0.1:{sim_port}"

    async def say(group: str, sender: str, text: str) -> None:
        await call("POST", f"{sim}/_sim/play", {"messages": [{"group": group, "from": sender, "text": text}]})
        await until(f"«{text}» processed", lambda: processed(db_url, text))

    async def task_is(user: str, **expected: Any) -> dict[str, Any] | None:
        task = await task_of(db_url, user)
        return task if task is not None and all(task[k] == v for k, v in expected.items()) else None

    with hub_with_sim(env, tmp_path / "hub.log"):
        await say("客户群1", "号主A", "二维码过期了")
        task_a = await until("号主A's task", lambda: task_is("号主A"))
        assert (task_a["type"], task_a["assignee"], task_a["reason"]) == ("扫码", "售后小王", "技能匹配(扫码)+负载最少")
        announce = f"@售后小王 麻烦跟进一下 号主A 的扫码问题（任务 #{task_a['id']}）"
        sent = await until("the bot @-ing the assignee in the cloud", lambda: sim_sends(sim, announce))
        assert (sent[0]["command"]["titleList"], sent[0]["command"]["atList"]) == (["客户群1"], ["售后小王"])

        # 号主B's login problem: both 售后小王 and 售后小李 can do 登录; 小李 has fewer open tasks.
        await say("客户群2", "号主B", "我登录不上了")
        task_b = await until("号主B's task", lambda: task_is("号主B"))
        assert (task_b["type"], task_b["assignee"], task_b["reason"]) == ("登录", "售后小李", "技能匹配(登录)+负载最少")

        await say("客户群1", "售后小王", "@号主A 您好，我重新发了个码，麻烦扫一下")
        await say("客户群2", "售后小李", "@号主B 您好，麻烦看一下手机上的登录提示")
        await until("号主A's task waits for them", lambda: task_is("号主A", status="waiting_user"))
        await say("客户群1", "号主A", "在")
        done = await until("号主A responded", lambda: task_is("号主A", response="responded"))
        assert (done["status"], done["cooperation"]) == ("in_progress", "high")

        # 号主B stays silent: one reminder after the window, a timeout and an alert after the next.
        reminder = "@号主B 您好，登录的问题还需要您配合一下，看到请回复一下哦"
        await until("the reminder in the cloud", lambda: sim_sends(sim, reminder), timeout_s=WINDOW_S * 4)
        timed_out = await until("号主B timed out", lambda: task_is("号主B", response="timeout"), timeout_s=WINDOW_S * 5)
        assert (timed_out["reminded"], timed_out["cooperation"]) == (True, "low")
        async with open_db(db_url):
            alert = await Alert.get(kind="user_no_response")
            assert (alert.subject, alert.status.value) == ("号主B", "open")
            assert await Alert.filter(kind="user_no_response", subject="号主A").count() == 0
        assert len(await sim_sends(sim, reminder)) == 1  # reminded once
