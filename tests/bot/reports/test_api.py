"""The reports API through the real app (its routes added as bot/app.py adds them), on both databases.

The fixtures' clock is 2026-11-20 02:00 UTC: 10:00 on the 20th in Asia/Shanghai, so "yesterday" is the 19th."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from bot.api.docs import load_openapi
from bot.api.reports import routes as report_routes
from bot.app import create_app
from bot.clock import FrozenClock
from bot.reports.delivery import Reporter
from bot.settings import ApiToken, Settings
from models.tasks import DailyReport
from tests.bot.reports import seed
from tests.bot.reports.seed import local
from tests.conftest import STAFF_TOKEN, build_settings

Client = TestClient[Any, Any]
MANAGER_TOKEN = "test-manager-token-0123456789abcdef"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
MANAGER = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
DAILY = "/api/reports/daily-after-sales"


@pytest.fixture
def settings(db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    base = build_settings(db_url, redis_url, tmp_path)
    manager = ApiToken(token=SecretStr(MANAGER_TOKEN), role="manager", name="test-manager")
    return base.model_copy(update={"api": base.api.model_copy(update={"tokens": (*base.api.tokens, manager)})})


@pytest.fixture
async def client(settings: Settings, clock: FrozenClock, aiohttp_client: Callable[..., Any]) -> Client:
    app = create_app(settings, clock=clock)
    app.add_routes(report_routes)
    test_client: Client = await aiohttp_client(app)
    return test_client


async def get(client: Client, path: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    resp = await client.get(path, headers=MANAGER if headers is None else headers)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_the_daily_report_needs_a_manager(client: Client) -> None:
    assert (await get(client, DAILY, status=401, headers={}))["error"] == "unauthorized"
    denied = await get(client, DAILY, status=403, headers=STAFF)
    assert "needs the manager role" in denied["message"]


async def test_a_stored_report_in_every_format(client: Client, settings: Settings, clock: FrozenClock) -> None:
    await seed.task(local(19, 10), completed_at=local(19, 11))
    stored = await Reporter(settings, clock).make_daily_report(date(2026, 11, 19))

    body = await get(client, f"{DAILY}?date=2026-11-19")
    data = body["data"]
    assert (data["day"], data["stored"], data["delivered_at"], data["delivery_attempts"]) == (
        "2026-11-19",
        True,
        None,
        0,
    )
    assert data["generated_at"] == stored.generated_at.isoformat()
    assert data["figures"]["tasks"]["created"] == 1
    assert data["figures"]["tasks"]["completion_rate_pct"] == 100.0
    assert data["delivery"] == {}

    resp = await client.get(f"{DAILY}?date=2026-11-19&format=markdown", headers=MANAGER)
    assert (resp.status, resp.content_type, resp.charset) == (200, "text/markdown", "utf-8")
    assert await resp.text() == stored.markdown

    resp = await client.get(f"{DAILY}?date=2026-11-19&format=html", headers=MANAGER)
    assert (resp.status, resp.content_type) == (200, "text/html")
    assert await resp.text() == stored.html


async def test_a_past_day_without_a_report_is_computed_not_stored(client: Client) -> None:
    await seed.task(local(18, 23, 59, 59))
    await seed.task(local(19, 0))
    body = await get(client, DAILY)  # no date: yesterday
    assert (body["data"]["day"], body["data"]["stored"]) == ("2026-11-19", False)
    assert body["data"]["figures"]["tasks"]["created"] == 1
    assert body["data"]["figures"]["overdue_hours"] == 24  # rules/assignment.yaml
    html = await client.get(f"{DAILY}?date=2026-11-18&format=html", headers=MANAGER)
    assert "<h1>售后日报 · 2026-11-18</h1>" in await html.text()
    assert await DailyReport.all().count() == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date=2026-13-01", "query parameter date must be a date like 2026-11-19, got '2026-13-01'"),
        ("date=yesterday", "got 'yesterday'"),
        ("date=20261119", "got '20261119'"),
        ("date=2026-11-21", "date 2026-11-21 is in the future"),
        ("date=2026-11-20", "date 2026-11-20 is today"),
        ("date=2026-11-19&format=pdf", "format must be one of ['json', 'markdown', 'html'], got 'pdf'"),
    ],
)
async def test_bad_daily_queries_get_400(client: Client, query: str, message: str) -> None:
    body = await get(client, f"{DAILY}?{query}", status=400)
    assert message in body["message"]
    assert body["error"] == "bad_parameter"


async def test_collaboration_needs_a_token_and_takes_staff(client: Client) -> None:
    await get(client, "/api/collaboration", status=401, headers={})
    body = await get(client, "/api/collaboration", headers=STAFF)
    data = body["data"]
    assert data["conversation"] is None
    # the default window: the last 7 days up to now
    assert (data["start"], data["end"]) == ("2026-11-13T02:00:00+00:00", "2026-11-20T02:00:00+00:00")
    assert set(data) >= {"staff_activity", "user_satisfaction", "human_intervention", "collaboration_effect"}


async def test_collaboration_of_one_group_by_id_or_name(client: Client) -> None:
    group = await seed.conversation("客户群1")
    other = await seed.conversation("客户群2")
    await seed.message(group, local(19, 10), type_="chat_complaint", case="needs_staff_now")
    await seed.message(other, local(19, 10), type_="chat_complaint", case="needs_staff_now")
    window = "from=2026-11-19T00:00:00+08:00&to=2026-11-20T00:00:00%2B08:00"
    by_id = (await get(client, f"/api/collaboration?group={group.id}&{window}", headers=STAFF))["data"]
    assert by_id["conversation"] == {"id": group.id, "name": "客户群1", "kind": "group"}
    assert by_id["user_satisfaction"]["complaint_messages"] == 1
    assert (by_id["start"], by_id["end"]) == ("2026-11-18T16:00:00+00:00", "2026-11-19T16:00:00+00:00")
    by_name = (await get(client, f"/api/collaboration?group=客户群1&{window}", headers=STAFF))["data"]
    assert by_name == by_id
    everything = (await get(client, f"/api/collaboration?{window}", headers=STAFF))["data"]
    assert everything["user_satisfaction"]["complaint_messages"] == 2


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("group=没有这个群", 404, "no conversation with id or name '没有这个群'"),
        ("group=999999", 404, "no conversation with id or name '999999'"),
        ("group=", 400, "group must be a conversation id or name"),
        ("from=2026-11-19T00:00:00", 400, "query parameter from needs a time zone"),
        ("to=next-week", 400, "query parameter to must be an ISO 8601 time, got 'next-week'"),
        ("from=2026-11-19T00:00:00Z&to=2026-11-18T00:00:00Z", 400, "from must be before to"),
        ("from=2026-09-01T00:00:00Z&to=2026-11-01T00:00:00Z", 400, "spans more than 31 days"),
    ],
)
async def test_bad_collaboration_queries(client: Client, query: str, status: int, message: str) -> None:
    body = await get(client, f"/api/collaboration?{query}", status=status, headers=STAFF)
    assert message in body["message"]


def test_openapi_documents_the_report_routes() -> None:
    documented = {(path, method) for path, ops in load_openapi()["paths"].items() for method in ops}
    served = {(route.path, route.method.lower()) for route in report_routes if isinstance(route, web.RouteDef)}
    assert served == {("/api/reports/daily-after-sales", "get"), ("/api/collaboration", "get")}
    assert served <= documented
