"""Issue 16 (logs): one pipeline for every logger, time-zoned timestamps, plain values, quiet cron chatter,
an access log with a request id bound into every line of the request's work."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.access_log import REQUEST_ID_HEADER, access_log_middleware
from bot.logging import ARQ_JOB_FINISH, ARQ_JOB_START, configure_logging, did_something
from bot.settings import ConfigError, LoggingSettings, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the tests that follow."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    arq = logging.getLogger("arq.worker")
    filters = list(arq.filters)
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)
    arq.filters[:] = filters


def lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_json_makes_every_line_json_with_plain_values_and_zoned_timestamps(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(format="json"), default_timezone="Asia/Shanghai")
    structlog.get_logger("bot.x").info("paused", until=datetime(2026, 11, 20, 2, 0, tzinfo=UTC), ids=frozenset({3}))
    logging.getLogger("aiohttp.server").error("stdlib says %s", "hello")
    logging.getLogger("tortoise").warning("pool exhausted")
    logging.getLogger("arq.worker").info(ARQ_JOB_START, 0.01, "process_conversations", "", "")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("asyncio").exception("task failed")
    out = lines(capsys.readouterr().err)  # json.loads fails on any line that is not JSON
    assert [o["logger"] for o in out] == ["bot.x", "aiohttp.server", "tortoise", "arq.worker", "asyncio"]
    assert out[0]["until"] == "2026-11-20T02:00:00+00:00"  # not datetime.datetime(…)
    assert out[0]["ids"] == [3]
    assert out[1] == out[1] | {"event": "stdlib says hello", "level": "error"}
    assert all(o["timestamp"].endswith("+08:00") for o in out)
    assert "ValueError: boom" in out[4]["exception"]


def test_console_makes_every_line_console_and_the_zone_is_configurable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(format="console", timezone="UTC"), default_timezone="Asia/Shanghai")
    structlog.get_logger("bot.x").info("ours", n=1)
    logging.getLogger("arq.worker").warning("theirs %d", 2)
    first, second = capsys.readouterr().err.splitlines()
    assert "+00:00 [info     ] ours" in first
    assert "[arq.worker]" in second
    assert "+00:00 [warning  ] theirs 2" in second


def test_logging_timezone_is_validated() -> None:
    env = {"HUB__LOGGING__TIMEZONE": "Mars/Olympus"}
    with pytest.raises(ConfigError, match=r"logging\.timezone"):
        load_settings(REPO / "config.yaml", environ=env)
    assert load_settings(REPO / "config.yaml", environ={}).logging.timezone is None


@pytest.mark.parametrize(
    ("result", "did"),
    [
        ("", False),
        ("0", False),
        ("None", False),
        ("{'steps': 0, 'deliveries': 0, 'unknown': 0}", False),
        ("{'made': None, 'deliveries': {}}", False),
        ("2", True),
        ("{'steps': 0, 'deliveries': 1}", True),
        ("{'made': '2026-11-19', 'deliveries': {}}", True),
        ("{'steps': 0, 'deliv…", True),  # arq cut it: say it
    ],
)
def test_did_something(result: str, did: bool) -> None:
    assert did_something(result) is did


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_cron_chatter_is_debug_unless_the_job_did_something_or_was_slow(
    level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(LoggingSettings(format="json", level=level))
    arq = logging.getLogger("arq.worker")
    arq.info(ARQ_JOB_START, 1.0, "cron:sweep_alerts", "", "")
    arq.info(ARQ_JOB_FINISH, 0.01, "cron:sweep_alerts", "{'steps': 0, 'deliveries': 0}")
    arq.info(ARQ_JOB_FINISH, 0.01, "cron:sweep_pending", "3")  # did something
    arq.info(ARQ_JOB_FINISH, 1.5, "cron:sweep_tasks", "{'checks': 0}")  # slow
    arq.info(ARQ_JOB_START, 0.0, "process_conversations", "'c1'", "")  # not a cron job
    out = lines(capsys.readouterr().err)
    shown = [(o["level"], o["event"].split()[-1]) for o in out]
    kept = [("info", "3"), ("info", "0}"), ("info", "process_conversations('c1')")]
    if level == "INFO":
        assert shown == kept
    else:
        assert [s for s in shown if s[0] == "debug"] == [("debug", "cron:sweep_alerts()"), ("debug", "0}")]
        assert [s for s in shown if s[0] == "info"] == kept


async def test_access_log_and_request_id_in_every_line_of_the_request(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(format="json"))

    async def handler(_request: web.Request) -> web.Response:
        structlog.get_logger("bot.api").info("working")
        logging.getLogger("tortoise").warning("a library line")
        return web.json_response({})

    async def failing(_request: web.Request) -> web.Response:
        raise web.HTTPNotFound

    app = web.Application(middlewares=[access_log_middleware])
    app.router.add_get("/api/things", handler)
    app.router.add_get("/api/missing", failing)
    app.router.add_post("/worktool/{robot}/message", handler)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/api/things")
        request_id = resp.headers[REQUEST_ID_HEADER]
        missing = await client.get("/api/missing", headers={REQUEST_ID_HEADER: "from-the-proxy-1"})
        await client.post("/worktool/wt-robot-1/message?token=secret")
    out = lines(capsys.readouterr().err)
    first = [o for o in out if o.get("request_id") == request_id]
    assert [o["event"] for o in first] == ["working", "a library line", "request"]
    access = first[-1]
    assert access == access | {"level": "info", "method": "GET", "path": "/api/things", "status": 200}
    assert isinstance(access["ms"], float)
    assert missing.headers[REQUEST_ID_HEADER] == "from-the-proxy-1"
    assert {"request_id": "from-the-proxy-1", "status": 404, "event": "request"}.items() <= out[-3].items()
    # A WorkTool callback's access line is DEBUG: absent at INFO, though the handler's own lines are there.
    callback = [o for o in out if o.get("path", "").startswith("/worktool/")]
    assert callback == []
    assert out[-1]["event"] == "a library line"
    assert "secret" not in capsys.readouterr().err
