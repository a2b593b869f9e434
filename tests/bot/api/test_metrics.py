"""`GET /metrics` through the real app on both databases and a real Redis: values move with the work, the
shipped dashboard and alert rules name only metrics that exist, and the endpoint is protected."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.clock import FrozenClock
from bot.keys import CLOCK, DIRECTORY, REDIS, SETTINGS
from bot.readiness import beat
from bot.settings import Settings
from jobs.processing import WorkerDeps, drain_conversation
from models.commands import Command, CommandStatus
from models.conversations import Conversation
from tests.conftest import CALLBACK_TOKEN, STAFF_TOKEN

Client = TestClient[Any, Any]
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: Client) -> tuple[Samples, set[str]]:
    """Every sample by (name, labels), and every name a query can use (families and their samples)."""
    resp = await client.get("/metrics", headers=STAFF)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/plain"
    samples: Samples = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(await resp.text()):
        names.add(family.name)  # a family without samples yet: its sample names still exist
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        for sample in family.samples:
            names.add(sample.name)
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, names


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def post(client: Client, kind: str, body: dict[str, Any], token: str = CALLBACK_TOKEN) -> int:
    resp = await client.post(f"/worktool/wt-robot-1/{kind}?token={token}", json=body)
    return resp.status


async def test_metrics_move_with_callbacks_processing_and_command_outcomes(client: Client, clock: FrozenClock) -> None:
    app = client.app
    before, _ = await scrape(client)
    assert value(before, "hub_ready") == 0.0  # no worker heartbeat yet
    assert value(before, "hub_up", dependency="database") == value(before, "hub_up", dependency="redis") == 1.0

    message = {"spoken": "在吗", "receivedName": "号主A", "groupName": "客户群1", "roomType": 1}
    assert await post(client, "message", message) == 200
    assert await post(client, "message", message) == 200  # the same report again: a redelivery
    assert await post(client, "message", message, token="wrong-token-0123456789") == 401
    assert await post(client, "status", {"type": 6}) == 200  # the robot went offline
    clock.advance(timedelta(seconds=30))
    await beat(app[REDIS], "box:7", clock.now())
    during, _ = await scrape(client)
    assert moved(before, during, "hub_callbacks_total", kind="message", outcome="2xx") == 2
    assert moved(before, during, "hub_callbacks_total", kind="message", outcome="4xx") == 1
    assert moved(before, during, "hub_callbacks_total", kind="status", outcome="2xx") == 1
    assert moved(before, during, "hub_dedup_verdicts_total", verdict="new") == 1
    assert moved(before, during, "hub_dedup_verdicts_total", verdict="redelivery") == 1
    assert moved(before, during, "hub_ingest_batch_size_count") == 2
    assert moved(before, during, "hub_ingest_batch_size_sum") == 2
    assert moved(before, during, "hub_ingest_commit_seconds_count") == 2
    assert (value(during, "hub_pending_messages"), value(during, "hub_pending_oldest_age_seconds")) == (1, 30)
    assert value(during, "hub_robot_online", robot="wt-robot-1") == 0.0
    assert (value(during, "hub_workers_alive"), value(during, "hub_worker_heartbeat_age_seconds")) == (1, 0)
    assert value(during, "hub_ready") == 1.0

    deps = WorkerDeps(app[SETTINGS], app[DIRECTORY], app[REDIS], app[CLOCK])
    for conversation in await Conversation.all():
        await drain_conversation(deps, conversation.id)
    now = clock.now()
    command = await Command.create(
        idempotency_key="k1",
        reply_key="k1",
        robot_id="wt-robot-1",
        purpose="reply",
        type=203,
        target="客户群1",
        content="在的",
        status=CommandStatus.SENT,
        created_at=now - timedelta(seconds=4),
        sent_at=now - timedelta(seconds=4),
        result_due_at=now + timedelta(seconds=60),
        worktool_message_id="1784417250785046528",
        batch_index=0,
    )
    result = {"messageId": "1784417250785046528", "errorCode": 0, "errorReason": "", "successList": ["客户群1"]}
    assert await post(client, "result", result) == 200
    await command.refresh_from_db()
    assert command.status is CommandStatus.SUCCEEDED
    after, _ = await scrape(client)
    assert moved(during, after, "hub_messages_processed_total", outcome="processed") == 1
    assert moved(during, after, "hub_processing_latency_seconds_count") == 1
    assert moved(during, after, "hub_processing_latency_seconds_sum") == 30  # received -> processed, frozen clock
    assert (value(after, "hub_pending_messages"), value(after, "hub_pending_oldest_age_seconds")) == (0, 0)
    assert moved(during, after, "hub_callbacks_total", kind="result", outcome="2xx") == 1
    assert moved(during, after, "hub_commands_total", status="succeeded", robot="wt-robot-1") == 1
    assert moved(during, after, "hub_command_result_seconds_count") == 1
    assert moved(during, after, "hub_command_result_seconds_sum") == 4


async def test_the_dashboard_and_the_alert_rules_name_only_metrics_that_exist(client: Client) -> None:
    _, names = await scrape(client)
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"HubWorkerDown", "HubBacklogOld", "HubRobotOffline", "HubNotificationsFailing", "HubCallbacks5xx"} <= alerts
    dashboard = json.loads((DEPLOY / "grafana" / "hub-dashboard.json").read_text(encoding="utf-8"))
    panels = dashboard["panels"]
    expressions += [target["expr"] for panel in panels for target in panel.get("targets", [])]
    assert len(panels) >= 8
    referenced = {name for expr in expressions for name in re.findall(r"\bhub_[a-z0-9_]+", expr)}
    assert referenced, "no metric referenced"
    assert referenced - names == set()


async def test_metrics_need_a_bearer_token_unless_unprotected(
    client: Client, settings: Settings, clock: FrozenClock, aiohttp_client: Callable[..., Any]
) -> None:
    resp = await client.get("/metrics")
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    assert (await client.get("/metrics", headers={"Authorization": "Bearer not-a-token"})).status == 401

    metrics = settings.metrics.model_copy(update={"protected": False})
    open_client: Client = await aiohttp_client(
        create_app(settings.model_copy(update={"metrics": metrics}), clock=clock)
    )
    resp = await open_client.get("/metrics")
    assert resp.status == 200
    assert "hub_callbacks_total" in await resp.text()
