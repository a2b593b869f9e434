"""Shared fixtures: a real Redis and a real PostgreSQL for the session, a fresh migrated database per test.

Database tests are parametrised over both backends through the `db_url` fixture.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
import structlog
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from bot.app import create_app
from bot.clock import FrozenClock
from bot.db import migrate
from bot.embedded_redis import EmbeddedRedis, free_port, start_redis
from bot.settings import ApiToken, Settings, load_settings
from tests.services import PostgresCluster, start_postgres

REPO = Path(__file__).resolve().parent.parent
CALLBACK_TOKEN = "test-callback-token-0123456789"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
STAFF_TOKEN = "test-staff-token-0123456789abcdef"
_counter = itertools.count()


def _run_sync(coro: Any) -> Any:
    """Run a coroutine to completion in a fresh loop on a thread (fixtures may run inside a loop)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


PROCESS_TESTS = ("tests/integration/", "tests/scripts/test_bench_", "tests/scripts/test_load")
# Answer-time limits measured under an outage or at saturation: `make test` runs these with nothing beside
# them (-m alone, after the parallel run); a busy neighbour pushed a 503 past its 2.5 s limit (2.89-2.98 s).
ALONE_TESTS = ("tests/integration/test_outages.py", "tests/integration/test_write_contention.py")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by the marker added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: once sync Playwright has run in this process, pytest-asyncio tests after it fail
    ("Runner.run() cannot be called from a running event loop"; STACK-NOTES)."""
    # Stable sort: browser tests last; process tests first, so that under xdist their one-at-a-time group
    # starts at once on one worker while the other works through the rest (not a serial tail at the end).
    items.sort(
        key=lambda item: (
            getattr(getattr(item, "module", None), "DRIVES_A_BROWSER", False),
            not item.nodeid.startswith(PROCESS_TESTS),
        )
    )
    for item in items:  # `make test` runs them in a pytest of their own, after the parallel run (-m browser)
        if getattr(getattr(item, "module", None), "DRIVES_A_BROWSER", False):
            item.add_marker(pytest.mark.browser)
        elif item.nodeid.startswith(ALONE_TESTS):
            item.add_marker(pytest.mark.alone)
        elif item.nodeid.startswith(PROCESS_TESTS):
            # Under xdist (--dist loadgroup) these run one at a time on one worker while the other runs the
            # in-process tests: two of them at once starve each other's servers past their timing limits.
            item.add_marker(pytest.mark.xdist_group("processes"))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests that run the CLI, which configures logging for the whole process: put it back afterwards."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    server = start_redis(free_port())
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    client = redis_sync.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    url = os.environ.get("HUB_TEST_POSTGRES_URL")
    if url:
        pytest.skip("external PostgreSQL is not supported by the fixtures yet")
    cluster = start_postgres()
    cluster.psql("CREATE DATABASE hub_template")
    _run_sync(migrate(cluster.url("hub_template")))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _run_sync(migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database of each kind."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "hub.sqlite3"
        shutil.copyfile(template, target)
        return f"sqlite://{target}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"hub_test_{next(_counter)}"
    cluster.psql(f"CREATE DATABASE {name} TEMPLATE hub_template")
    return cluster.url(name)


def build_settings(db_url: str, redis_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    env = {
        "HUB__DATABASE__URL": db_url,
        "HUB__REDIS__URL": redis_url,
        "HUB__DATA_DIR": str(tmp_path),
        "HUB__RULES_DIR": str(REPO / "rules"),
    }
    settings = load_settings(REPO / "config.yaml", environ=env)
    worktool = settings.worktool.model_copy(update={"callback_token": SecretStr(CALLBACK_TOKEN)})
    api = settings.api.model_copy(
        update={
            "tokens": (
                ApiToken(token=SecretStr(ADMIN_TOKEN), role="admin", name="test-admin"),
                ApiToken(token=SecretStr(STAFF_TOKEN), role="staff", name="test-staff"),
            )
        }
    )
    return settings.model_copy(update={"worktool": worktool, "api": api, **overrides})


@pytest.fixture
def settings(db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return build_settings(db_url, redis_url, tmp_path)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


@pytest.fixture
async def client(settings: Settings, clock: FrozenClock, aiohttp_client: Callable[..., Any]) -> TestClient[Any, Any]:
    app = create_app(settings, clock=clock)
    test_client: TestClient[Any, Any] = await aiohttp_client(app)
    return test_client
