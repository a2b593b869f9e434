"""Running the real `hub serve` / `hub worker` processes for integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.embedded_redis import free_port
from tests.conftest import ADMIN_TOKEN, CALLBACK_TOKEN, REPO


def hub_env(db_url: str, redis_url: str, data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    env.update(
        {
            "HUB__DATABASE__URL": db_url,
            "HUB__REDIS__URL": redis_url,
            "HUB__REDIS__EMBEDDED": "false",
            "HUB__SERVER__PORT": str(port),
            "HUB__DATA_DIR": str(data_dir),
            "HUB__WORKTOOL__CALLBACK_TOKEN": CALLBACK_TOKEN,
            "HUB__API__TOKENS": json.dumps([{"token": ADMIN_TOKEN, "role": "admin", "name": "it"}]),
            "HUB__LOGGING__LEVEL": "INFO",
            **extra,
        }
    )
    return env


def spawn(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", command], cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT
        )


def wait_healthy(port: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server on port {port} did not become healthy")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, log: Path | None = None) -> int:
    """Signal the process and wait for it; a stuck one is killed and its log tail shown."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            tail = log.read_text(errors="replace")[-6000:] if log else "(no log)"
            raise AssertionError(f"{process.args!r} did not stop within 30 s; its log ends with:\n{tail}") from None
    return process.returncode


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[str]:
    port = int(env["HUB__SERVER__PORT"])
    process = spawn("serve", env, log)
    try:
        wait_healthy(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        code = stop(process, log=log)
        assert code == 0, f"server exited with {code}; see {log}"


def new_port() -> int:
    return free_port()


def spawn_sim(port: int, hub_port: int, env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`hub sim` as WorkTool's cloud for the hub on `hub_port`; returns once it answers."""
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "sim",
                "--port",
                str(port),
                "--hub-url",
                f"http://127.0.0.1:{hub_port}",
                *extra,
            ],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats", timeout=1) as resp:
                if resp.status == 200:
                    return process
        except OSError:
            time.sleep(0.1)
    stop(process, log=log)
    raise TimeoutError(f"simulator on port {port} did not start; see {log}")
