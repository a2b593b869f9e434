"""A throwaway PostgreSQL cluster in a temporary directory on a free port: for the tests' databases and for
`hub makemigrations` when no PostgreSQL URL is given (Redis's counterpart is bot.embedded_redis).

Needs the server binaries (`initdb`, `pg_ctl`: Debian's `postgresql` package); runs the server as the
`postgres` user when started by root, since PostgreSQL refuses to run as root. Set-up ≈ 1.2 s.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.embedded_redis import free_port


class PostgresUnavailable(RuntimeError):
    """No throwaway cluster can be started here (no binaries, or initdb/pg_ctl failed)."""


def pg_bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists():
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb) not found: `make test` installs them (apt-get install postgresql)"
    )


@dataclass
class PostgresCluster:
    root: Path
    port: int
    bindir: Path
    user: str | None  # OS user the server runs as (postgres refuses to run as root)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = self._run(
            str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql,
        )  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresCluster:
    bindir = pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PostgresCluster(root, free_port(), bindir, user)
    init = cluster._run(
        str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"
    )
    if init.returncode:
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
    options = (
        f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = cluster._run(
        str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "log"), "-w", "start"
    )
    if start.returncode:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        raise PostgresUnavailable(f"pg_ctl start failed: {start.stderr.strip()} {log[-500:]}")
    return cluster
