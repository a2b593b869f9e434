"""Schemathesis against the live server: the real app factory on SQLite with a real Redis, the document it
serves at /openapi.json, the admin token. Every API operation and /wecom/callback gets schema-conforming
(positive) and schema-violating (negative) requests, plus positive ones aimed at seeded rows so the 200
answers are checked too: never a 5xx, every status and content type documented, every body true to its
schema (the schemas name their `required` fields).

The WorkTool callbacks are fuzzed by their own property tests (tests/bot/callbacks).

Examples per operation and mode: HUB_FUZZ_EXAMPLES (default 8, about 20 s); HUB_FUZZ_RANDOM=1 draws new
inputs each run instead of the fixed, reproducible ones; HUB_FUZZ_DB=postgres runs it on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err
from tortoise.transactions import in_transaction

from bot.alerts.service import AlertSpec, Wakeups
from bot.api.alerts import ALERTS
from bot.app import create_app
from bot.clock import FrozenClock
from bot.keys import CLOCK, DIRECTORY, REDIS, SETTINGS
from bot.settings import Settings
from jobs.processing import WorkerDeps, drain_conversation
from models.conversations import Conversation
from tests.conftest import ADMIN_TOKEN, CALLBACK_TOKEN, build_settings
from tests.services import PostgresCluster

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "8"))
RANDOM = os.environ.get("HUB_FUZZ_RANDOM") == "1"
DATABASE = os.environ.get("HUB_FUZZ_DB", "sqlite")  # the suite runs SQLite; HUB_FUZZ_DB=postgres by hand
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
WECOM_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@dataclass
class Tally:
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1


@pytest.fixture
def fuzz_settings(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Settings:
    if DATABASE == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        cluster.psql("CREATE DATABASE hub_fuzz TEMPLATE hub_template")
        url = cluster.url("hub_fuzz")
    else:
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "fuzz.sqlite3"
        target.write_bytes(template.read_bytes())
        url = f"sqlite://{target}"
    base = build_settings(url, redis_url, tmp_path)
    wecom = base.alerts.wecom.model_copy(
        update={
            "corp_id": "ww0123456789abcdef",
            "callback_token": SecretStr("wecom-fuzz-token"),
            "callback_aes_key": SecretStr(WECOM_AES_KEY),
        }
    )
    return base.model_copy(update={"alerts": base.alerts.model_copy(update={"wecom": wecom})})


async def seed(server: TestServer) -> dict[str, Any]:
    """Rows for the path parameters to name, so 200 answers are checked as well as 404s."""
    app = server.app
    assert app is not None
    url = str(server.make_url(""))
    async with ClientSession(url) as http:
        for sender, text in (
            ("号主A", "你好"),
            ("号主A", "骗子，退钱"),
            ("号主B", "扫码失败了怎么办"),
            ("号主A", "在吗"),
        ):
            body = {"spoken": text, "rawSpoken": text, "receivedName": sender, "groupName": "客户群1", "roomType": 1}
            async with http.post(f"/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}", json=body) as resp:
                assert resp.status == 200, await resp.text()
        deps = WorkerDeps(app[SETTINGS], app[DIRECTORY], app[REDIS], app[CLOCK])
        for conversation in await Conversation.all():
            await drain_conversation(deps, conversation.id)
        group = await Conversation.get(kind="group")
        async with http.post(
            "/api/messages/send", json={"conversation_id": group.id, "text": "您好"}, headers=AUTH
        ) as r:
            assert r.status == 202, await r.text()
            command_id = (await r.json())["data"]["command_ids"][0]
        task_body = {"conversation_id": group.id, "user": "号主B", "text": "扫码失败了怎么办"}
        async with http.post("/api/after-sales/auto-assign", json=task_body, headers=AUTH) as r:
            assert r.status == 200, await r.text()
            task_id = (await r.json())["data"]["task"]["task_id"]
        async with http.get(f"/api/groups/{group.id}/sessions", headers=AUTH) as r:
            session_id = (await r.json())["data"]["sessions"][0]["session_id"]
    service = app[ALERTS]
    spec = AlertSpec(
        kind="complaint_unhandled", subject="号主A", conversation_id=group.id, where="客户群1", detail="退钱"
    )
    async with in_transaction() as conn:
        opened = await service.open(spec, service.clock.now(), conn, Wakeups())
    return {
        "alert_id": opened.alert.id,
        "task_id": task_id,
        "command_id": command_id,
        "group_id": group.id,
        "session_id": session_id,
        "robot_id": "wt-robot-1",
    }


def fuzz(base_url: str, known: dict[str, Any], tally: Tally) -> None:
    """Runs in a thread: schemathesis calls are blocking, the server runs on the test's event loop."""
    document = requests.get(f"{base_url}/openapi.json", timeout=10).json()
    # /readyz answers 503 by design when no worker runs (none does here).
    schema = schemathesis.openapi.from_dict(document).exclude(path_regex="^/(worktool/|readyz)")
    http = requests.Session()
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # the document itself is broken
            raise result.err()
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        runs = [(GenerationMode.POSITIVE, operation.as_strategy(GenerationMode.POSITIVE))]
        runs.append((GenerationMode.NEGATIVE, operation.as_strategy(GenerationMode.NEGATIVE)))
        if names:
            fixed = {name: known[name] for name in names}
            runs.append((GenerationMode.POSITIVE, operation.as_strategy(path_parameters=fixed)))
        for mode, strategy in runs:
            try:
                run_examples(strategy, base_url, http, tally)
            except Unsatisfiable:  # nothing to violate: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failures are collected, then reported
                tally.failures.append(f"{operation.label} ({mode.value}): {exc}")


def run_examples(strategy: Any, base_url: str, http: requests.Session, tally: Tally) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure's own example is reported
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def examples(case: Any) -> None:
        response = case.call(base_url=base_url, session=http, headers=AUTH, timeout=30)
        tally.count(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=AUTH)

    examples()


async def test_the_api_answers_every_fuzzed_request_as_documented(
    fuzz_settings: Settings, clock: FrozenClock, aiohttp_server: Callable[..., Any]
) -> None:
    server: TestServer = await aiohttp_server(create_app(fuzz_settings, clock=clock))
    known = await seed(server)
    tally = Tally()
    started = time.monotonic()
    await asyncio.to_thread(fuzz, str(server.make_url("")).rstrip("/"), known, tally)
    elapsed_s = time.monotonic() - started
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.by_status.items()))
    print(f"schemathesis: {tally.requests} requests in {elapsed_s:.1f} s ({statuses})")
    assert tally.requests > 0
    assert not tally.failures, "\n\n".join(tally.failures)
    assert not [s for s in tally.by_status if s >= 500]
    assert 200 in tally.by_status  # the seeded rows were reached: response schemas were checked, not only errors
