"""The error middleware and the JSON-body reader: 405 with Allow, database trouble as 503 (after a bounded
retry of write contention), real faults as a logged 500, bodies bounded before validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ConfigDict
from structlog.testing import capture_logs
from tortoise.exceptions import OperationalError

from bot.api import envelope
from bot.api.envelope import MAX_JSON_DEPTH, error_middleware, json_problem, ok, read_body

Client = TestClient[Any, Any]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    n: int = 0
    s: str = ""
    items: list[Any] = []


def failing(exc: BaseException, times: int) -> tuple[Callable[[web.Request], Any], list[int]]:
    """A handler that raises `exc` its first `times` runs, then answers 200; and its run count."""
    runs = [0]

    async def handler(request: web.Request) -> web.Response:
        runs[0] += 1
        await request.read()  # the body is read on every run: a retry must still see it
        if runs[0] <= times:
            raise exc
        return ok({"runs": runs[0]})

    return handler, runs


async def answer_ok(_request: web.Request) -> web.Response:
    return ok()


async def app_client(aiohttp_client: Any, path: str, handler: Any, method: str = "POST") -> Client:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_route(method, path, handler)
    client: Client = await aiohttp_client(app)
    return client


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope, "RETRY_DELAYS_S", (0.0, 0.0, 0.0))


LOCKED = OperationalError("database is locked")


def wrapped(inner: Exception) -> OperationalError:
    """As tortoise raises a driver's error: `raise OperationalError(exc) from exc`."""
    outer = OperationalError(inner)
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    "exc",
    [
        LOCKED,
        asyncpg.exceptions.SerializationError("could not serialize access"),
        wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock detected")),
    ],
)
async def test_write_contention_on_the_api_is_retried_inside_the_request(aiohttp_client: Any, exc: Exception) -> None:
    handler, runs = failing(exc, times=2)
    client = await app_client(aiohttp_client, "/api/thing", handler)
    resp = await client.post("/api/thing", json={"n": 1})
    assert resp.status == 200, await resp.text()
    assert runs == [3]


async def test_contention_that_outlasts_the_retries_is_503_with_retry_after(aiohttp_client: Any) -> None:
    handler, runs = failing(LOCKED, times=100)
    client = await app_client(aiohttp_client, "/api/thing", handler)
    resp = await client.post("/api/thing", json={})
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "1"
    body = await resp.json()
    assert (body["code"], body["error"], body["data"]) == (503, "unavailable", None)
    assert "database is busy" in body["message"]
    assert runs == [4]  # the first run and one per delay


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        OperationalError("unable to open database file"),
    ],
)
async def test_a_database_that_is_down_is_503_at_once(aiohttp_client: Any, exc: Exception) -> None:
    handler, runs = failing(exc, times=100)
    client = await app_client(aiohttp_client, "/api/thing", handler)
    resp = await client.post("/api/thing", json={})
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "1"
    assert runs == [1]


async def test_outside_the_api_contention_is_503_without_a_retry(aiohttp_client: Any) -> None:
    # The WorkTool callbacks keep their own commit retry; the middleware only maps what escapes it.
    handler, runs = failing(LOCKED, times=100)
    client = await app_client(aiohttp_client, "/worktool/r1/status", handler)
    resp = await client.post("/worktool/r1/status", json={})
    assert (resp.status, runs) == (503, [1])


async def test_a_real_fault_is_500_and_logged_with_its_traceback(aiohttp_client: Any) -> None:
    handler, runs = failing(OperationalError("no such column: bogus"), times=100)
    client = await app_client(aiohttp_client, "/api/thing", handler)
    with capture_logs() as logs:
        resp = await client.post("/api/thing", json={})
    assert resp.status == 500
    assert (await resp.json())["error"] == "internal_error"
    assert runs == [1]
    [entry] = [e for e in logs if e["event"] == "unhandled error"]
    assert entry["log_level"] == "error"
    assert entry["exc_info"] is True  # log.exception: the traceback goes with it


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("DELETE", "/api/thing", "GET, HEAD"), ("GET", "/api/write", "POST"), ("PATCH", "/worktool/r1/message", "POST")],
)
async def test_a_wrong_method_is_405_with_allow(aiohttp_client: Any, method: str, path: str, allow: str) -> None:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/api/thing", answer_ok)
    app.router.add_post("/api/write", answer_ok)
    app.router.add_post("/worktool/{robot}/message", answer_ok)
    client = await aiohttp_client(app)
    resp = await client.request(method, path)
    assert resp.status == 405
    assert resp.headers["Allow"] == allow
    body = await resp.json()
    assert (body["code"], body["error"]) == (405, "method_not_allowed")
    assert f"method {method} is not allowed" in body["message"]
    assert allow in body["message"]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"a": nested(MAX_JSON_DEPTH)}, "nests deeper than 32 levels (at a"),
        ({"a": {"b": ["ok", "x\x00y"]}}, "a.b[1]: contains a NUL character"),
        ({"s": "\ud800"}, "s: contains a lone surrogate"),
        ({"k\x00": 1}, "a key in the body contains a NUL character"),
        ({"n": 2**63}, "n: integer out of range"),
        ({"n": -(2**63)}, "n: integer out of range"),
    ],
)
def test_json_problem_names_where(value: Any, words: str) -> None:
    problem = json_problem(value)
    assert problem is not None
    assert words in problem


def test_json_problem_accepts_what_fits() -> None:
    assert json_problem({"a": nested(MAX_JSON_DEPTH - 1)}) is None
    assert json_problem({"n": 2**63 - 1, "m": -(2**63 - 1), "s": "好😀", "b": True, "f": 1e308}) is None


@pytest.mark.parametrize(
    ("data", "content_type", "error", "words"),
    [
        ("[" * 5000 + "]" * 5000, "application/json", "malformed_body", "nests deeper than 32 levels"),
        ('{"n": ' + "9" * 5000 + "}", "application/json", "malformed_body", "more than 4300 digits"),
        ('{"n": 1' + "0" * 3000 + "}", "application/json", "malformed_body", "n: integer out of range"),
        ('{"n": NaN}', "application/json", "malformed_body", "NaN is not a JSON number"),
        ('{"s": "\\u0000"}', "application/json", "malformed_body", "s: contains a NUL character"),
        ('{"s": "\\udc00"}', "application/json", "malformed_body", "s: contains a lone surrogate"),
        (b'{"s": "\xff"}', "application/json", "malformed_body", "body is not UTF-8"),
        ('{"s": "ok"}', "application/json; charset=no-such-charset", None, None),
        ('{"n": "1"}', "application/json", "invalid_request", "n: Input should be a valid integer"),
        ('{"n": 1, "x": 2}', "application/json", "invalid_request", "x: Extra inputs are not permitted"),
        ("[1]", "application/json", "invalid_request", "body must be a JSON object, got an array"),
        ("null", "application/json", "invalid_request", "body must be a JSON object, got null"),
        ("", "application/json", "malformed_body", "body is not valid JSON"),
    ],
)
async def test_read_body_answers_400_saying_what_is_wrong(
    aiohttp_client: Any, data: str | bytes, content_type: str, error: str | None, words: str | None
) -> None:
    async def handler(request: web.Request) -> web.Response:
        body = await read_body(request, Body)
        return ok(body.model_dump())

    client = await app_client(aiohttp_client, "/api/body", handler)
    resp = await client.post("/api/body", data=data, headers={"Content-Type": content_type})
    body = await resp.json()
    if error is None:  # JSON is UTF-8 whatever charset the header claims
        assert resp.status == 200, body
        return
    assert resp.status == 400, body
    assert body["error"] == error
    assert words in body["message"]


async def test_a_nul_in_a_query_parameter_is_400(aiohttp_client: Any) -> None:
    client = await app_client(aiohttp_client, "/api/thing", answer_ok, method="GET")
    resp = await client.get("/api/thing?name=a%00b")
    assert resp.status == 400
    assert "query parameter name contains a NUL character" in (await resp.json())["message"]
