"""Each input that once answered 5xx (issue 12), through the real app on both databases: now a 4xx with the
JSON envelope and a message naming what is wrong. Plus the boundaries that must still be accepted."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise.transactions import in_transaction

from bot.alerts.service import AlertSpec, Wakeups
from bot.api.alerts import ALERTS
from bot.api.params import MAX_ID
from bot.app import create_app
from bot.clock import FrozenClock
from bot.settings import Settings
from models.alerts import Alert, AlertStatus
from tests.conftest import ADMIN_TOKEN, build_settings

Client = TestClient[Any, Any]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HUGE = "9" * 29  # a 29-digit id: overflowed the database driver
OVER = str(2**63)  # one past BIGINT
DEEP = "[" * 5000 + "]" * 5000
DIGITS_5000 = "1" + "0" * 4999

# (method, path, body as text or None, status, error, words in the message)
CASES: list[tuple[str, str, str | None, int, str, str]] = [
    ("GET", f"/api/commands/{HUGE}/status", None, 400, "bad_parameter", "command_id must be an integer from 1 to"),
    ("GET", f"/api/commands/{OVER}/status", None, 400, "bad_parameter", "command_id"),
    ("GET", "/api/commands/0/status", None, 400, "bad_parameter", "command_id"),
    ("GET", "/api/commands/%D9%A1%D9%A2/status", None, 400, "bad_parameter", "command_id"),  # Arabic-Indic 12
    ("GET", f"/api/commands/{MAX_ID}/status", None, 404, "not_found", f"command {MAX_ID} does not exist"),
    ("GET", f"/api/sessions/{HUGE}-1", None, 400, "bad_parameter", "session_id"),
    ("GET", f"/api/sessions/1-{OVER}", None, 400, "bad_parameter", "session_id"),
    ("GET", f"/api/sessions/{MAX_ID}-{MAX_ID}", None, 404, "not_found", "no session"),
    ("GET", f"/api/groups/{HUGE}/sessions", None, 400, "bad_parameter", "group_id"),
    ("GET", "/api/groups/+5/sessions", None, 400, "bad_parameter", "group_id"),
    ("GET", f"/api/alerts/{OVER}", None, 400, "bad_parameter", "alert_id"),
    ("GET", f"/api/after-sales/{HUGE}/user-response", None, 400, "bad_parameter", "task_id"),
    ("POST", f"/api/after-sales/{HUGE}/complete", "{}", 400, "bad_parameter", "task_id"),
    ("GET", f"/api/alerts?conversation_id={OVER}", None, 400, "bad_parameter", "conversation_id must be between"),
    ("GET", f"/api/after-sales/tasks?conversation_id={HUGE}", None, 400, "bad_parameter", "conversation_id"),
    ("GET", "/api/conversations?limit=1_0", None, 400, "bad_parameter", "limit must be an integer"),
    ("GET", "/api/conversations?name=a%00b", None, 400, "bad_parameter", "name contains a NUL character"),
    (
        "POST",
        "/api/messages/send",
        f'{{"conversation_id": {HUGE}, "text": "hi"}}',
        400,
        "malformed_body",
        "conversation_id: integer out of range",
    ),
    ("POST", "/api/messages/send", '{"conversation_id": "1", "text": "hi"}', 400, "invalid_request", "conversation_id"),
    (
        "POST",
        "/api/after-sales/auto-assign",
        '{"conversation_id": 0, "user": "u", "text": "扫码失败"}',
        400,
        "invalid_request",
        "conversation_id: Input should be greater than or equal to 1",
    ),
    (
        "POST",
        "/api/after-sales/auto-assign",
        f'{{"session_id": "{HUGE}-1", "user": "u", "text": "扫码失败"}}',
        400,
        "invalid_request",
        "session_id",
    ),
    ("POST", "/api/after-sales/auto-assign", f'{{"task_id": {OVER}}}', 400, "malformed_body", "task_id: integer out"),
    ("GET", "/api/reports/daily-after-sales?date=0001-01-01", None, 400, "bad_parameter", "between 1970-01-01 and"),
    ("GET", "/api/collaboration?from=0001-01-01T00:00:00Z", None, 400, "bad_parameter", "from must be between 1970"),
    ("GET", "/api/collaboration?to=0001-01-01T00:00:00Z", None, 400, "bad_parameter", "to must be between 1970"),
    ("GET", "/api/collaboration?to=0001-01-01T00:00:00%2B08:00", None, 400, "bad_parameter", "to must be between"),
    ("GET", "/api/collaboration?from=9999-12-31T23:59:59-08:00", None, 400, "bad_parameter", "from must be between"),
    ("GET", "/api/alerts?from=0001-01-01T00:00:00Z", None, 400, "bad_parameter", "from must be between"),
    ("GET", "/api/after-sales/tasks?to=9999-12-31T23:59:59Z", None, 400, "bad_parameter", "to must be between"),
    ("POST", "/api/messages/identify-type", DEEP, 400, "malformed_body", "nests deeper than 32 levels"),
    ("POST", "/api/alerts/1/cancel", '{"cancel_reason": ' + DEEP + "}", 400, "malformed_body", "nests deeper"),
    ("POST", "/api/alerts/1/escalate", f'{{"escalate_to": {DIGITS_5000}}}', 400, "malformed_body", "4300 digits"),
    ("POST", "/api/alerts/1/escalate", f'{{"escalate_to": {2**64}}}', 400, "malformed_body", "integer out of range"),
    (
        "POST",
        "/api/alerts/1/cancel",
        '{"cancel_reason": "a\\u0000b"}',
        400,
        "malformed_body",
        "cancel_reason: contains a NUL",
    ),
    ("POST", "/api/alerts/1/cancel", '{"cancel_reason": "\\ud800"}', 400, "malformed_body", "lone surrogate"),
    ("POST", "/api/alerts/1/escalate", '{"escalate_to": NaN}', 400, "malformed_body", "NaN is not a JSON number"),
    (
        "POST",
        "/api/messages/identify-type",
        '{"message": 5}',
        400,
        "invalid_request",
        "message: Input should be a valid string",
    ),
    ("POST", "/api/messages/identify-type", '"text"', 400, "invalid_request", "body must be a JSON object"),
    ("DELETE", "/api/alerts", None, 405, "method_not_allowed", "allowed: GET, HEAD"),
    ("GET", "/api/messages/send", None, 405, "method_not_allowed", "allowed: POST"),
    ("PUT", "/wecom/callback", None, 405, "method_not_allowed", "allowed: GET, HEAD, POST"),
]


async def test_bad_input_is_a_4xx_saying_what_is_wrong(client: Client) -> None:
    """One app for the whole table (building one per row costs ~2 s); every mismatching row is reported."""
    wrong = []
    for method, path, data, status, error, words in CASES:
        headers = {**ADMIN, "Content-Type": "application/json"}
        resp = await client.request(method, path, data=data, headers=headers)
        body = await resp.json()
        allow = resp.headers.get("Allow")
        if (
            (resp.status, body.get("code"), body.get("error"), body.get("data")) != (status, status, error, None)
            or words not in body.get("message", "")
            or (status == 405 and allow != words.removeprefix("allowed: "))
        ):
            wrong.append(f"{method} {path[:80]}: {resp.status} {body} Allow={allow}")
    assert not wrong, "\n".join(wrong)


async def test_edges_of_the_ranges_are_accepted(client: Client) -> None:
    for path in (
        "/api/reports/daily-after-sales?date=1970-01-01",
        "/api/collaboration?from=1970-01-01T00:00:00Z&to=1970-01-08T00:00:00Z",
        "/api/alerts?from=1970-01-01T00:00:00Z&to=8999-12-31T23:59:59Z",
        f"/api/alerts?conversation_id={MAX_ID}",
    ):
        resp = await client.get(path, headers=ADMIN)
        assert resp.status == 200, (path, await resp.text())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    segment=st.one_of(
        st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and s not in (".", "..")),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.tuples(st.integers(min_value=0, max_value=2**70), st.integers(min_value=0, max_value=2**70)).map(
            lambda ids: f"{ids[0]}-{ids[1]}"
        ),
    )
)
async def test_any_id_segment_is_400_or_404(client: Client, segment: str) -> None:
    for template in ("/api/commands/{}/status", "/api/alerts/{}", "/api/sessions/{}", "/api/groups/{}/sessions"):
        resp = await client.get(template.format(segment), headers=ADMIN)
        assert resp.status in (400, 404), (template, segment, await resp.text())


@pytest.fixture
def busy_settings(tmp_path: Path, redis_url: str, sqlite_template: Path) -> Settings:
    """A SQLite database whose lock waits are short: contention reaches the API within 0.1 s."""
    target = tmp_path / "busy.sqlite3"
    target.write_bytes(sqlite_template.read_bytes())
    return build_settings(f"sqlite://{target}?busy_timeout=100", redis_url, tmp_path)


async def open_alert(client: Client) -> int:
    service = client.app[ALERTS]
    spec = AlertSpec(kind="complaint_unhandled", subject="号主A", conversation_id=None, where="客户群1", detail="退钱")
    async with in_transaction() as conn:
        opened = await service.open(spec, service.clock.now(), conn, Wakeups())
    alert_id: int = opened.alert.id
    return alert_id


def hold_write_lock(path: str) -> sqlite3.Connection:
    """Another process's writer, in effect: SQLite's write lock held until the connection is rolled back."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def test_a_write_under_a_held_lock_is_503_with_retry_after_never_500(
    busy_settings: Settings, clock: FrozenClock, aiohttp_client: Any
) -> None:
    client: Client = await aiohttp_client(create_app(busy_settings, clock=clock))
    alert_id = await open_alert(client)
    holder = hold_write_lock(busy_settings.database.url.removeprefix("sqlite://").split("?")[0])
    try:
        resp = await client.post(f"/api/alerts/{alert_id}/cancel", json={"cancel_reason": "done"}, headers=ADMIN)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    body = await resp.json()
    assert resp.status == 503, body
    assert resp.headers["Retry-After"] == "1"
    assert body["error"] == "unavailable"
    assert (await Alert.get(id=alert_id)).status == AlertStatus.OPEN  # nothing changed


async def test_a_write_retried_past_a_short_lock_succeeds(
    busy_settings: Settings, clock: FrozenClock, aiohttp_client: Any
) -> None:
    client: Client = await aiohttp_client(create_app(busy_settings, clock=clock))
    alert_id = await open_alert(client)
    holder = hold_write_lock(busy_settings.database.url.removeprefix("sqlite://").split("?")[0])
    asyncio.get_running_loop().call_later(
        0.3, holder.execute, "ROLLBACK"
    )  # released while the request is being retried
    try:
        resp = await client.post(f"/api/alerts/{alert_id}/cancel", json={"cancel_reason": "done"}, headers=ADMIN)
    finally:
        holder.close()
    assert resp.status == 200, await resp.text()
    assert (await Alert.get(id=alert_id)).status == AlertStatus.CANCELLED
