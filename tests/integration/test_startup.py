"""Issue 16: start-up that fails clearly. A taken port stops `hub serve` with one line naming the port and
the setting to change (exit 3, no traceback), and `hub run` gives up on such a child instead of restarting
it forever."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_PORT
from bot.embedded_redis import free_port
from tests.conftest import ADMIN_TOKEN, CALLBACK_TOKEN, REPO
from tests.integration.hub import hub_env, server, spawn, stop

pytestmark = pytest.mark.slow


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_hub_serve_on_a_taken_port_says_so_in_one_line_and_exits_3(tmp_path: Path, taken_port: int) -> None:
    # Nothing else is needed: the port is bound before the database or Redis is touched.
    env = hub_env(f"sqlite://{tmp_path}/hub.sqlite3", "redis://127.0.0.1:1/0", tmp_path, taken_port)
    log = tmp_path / "serve.log"
    process = spawn("serve", env, log)
    try:
        code = process.wait(timeout=30)
    finally:
        stop(process, log=log)
    output = log.read_text()
    assert code == EXIT_PORT, output
    assert "Traceback" not in output
    assert "serving" not in output
    problem = [line for line in output.splitlines() if str(taken_port) in line]
    expected = (
        f"hub: cannot start: port {taken_port} on 127.0.0.1 is in use: set server.port (env HUB__SERVER__PORT)"
        " to a free port, or stop what holds it"
    )
    assert problem == [expected]


def test_hub_run_gives_up_on_a_server_that_cannot_bind(tmp_path: Path, taken_port: int, redis_url: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB__")},
        "HUB__SERVER__PORT": str(taken_port),
        "HUB__DATA_DIR": str(tmp_path),
        "HUB__DATABASE__URL": f"sqlite://{tmp_path}/hub.sqlite3",
        "HUB__REDIS__URL": redis_url,
        "HUB__REDIS__EMBEDDED": "false",
        "HUB__WORKTOOL__API_BASE": f"http://127.0.0.1:{free_port()}",  # no simulator child
        "HUB__WORKTOOL__CALLBACK_TOKEN": CALLBACK_TOKEN,
        "HUB__API__TOKENS": json.dumps([{"token": ADMIN_TOKEN, "role": "admin", "name": "it"}]),
    }
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        hub = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        code = hub.wait(timeout=60)
    finally:
        stop(hub, log=log)
    output = log.read_text()
    assert code == EXIT_PORT, output
    assert "restarting" not in output
    assert output.count("is in use: set server.port (env HUB__SERVER__PORT)") == 1
    assert output.count("process cannot start and a restart would not help") == 1
    assert "Traceback" not in output


def test_hub_serve_logs_every_line_as_json_with_an_access_line_per_api_request(
    tmp_path: Path, sqlite_template: Path, redis_url: str
) -> None:
    db = tmp_path / "hub.sqlite3"
    shutil.copyfile(sqlite_template, db)
    port = free_port()
    env = hub_env(f"sqlite://{db}", redis_url, tmp_path, port, HUB__LOGGING__FORMAT="json")
    log = tmp_path / "serve.log"
    with server(env, log) as base:
        request = urllib.request.Request(
            f"{base}/api/robots", headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Request-Id": "probe-1"}
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert resp.headers["X-Request-Id"] == "probe-1"
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # fails on any line that is not JSON
    events = [line["event"] for line in lines]
    assert events.index("serving") > events.index("callback URL")
    access = [line for line in lines if line.get("request_id") == "probe-1" and line["event"] == "request"]
    assert [(a["method"], a["path"], a["status"], a["level"]) for a in access] == [("GET", "/api/robots", 200, "info")]
    assert "/healthz" not in str(lines)  # the readiness probes of the test helper are DEBUG
    assert lines[-1]["logger"] == "bot.shutdown"  # was a raw text line
    assert all(line["timestamp"].endswith("+08:00") for line in lines)  # the business time zone
