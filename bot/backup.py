"""`hub backup FILE`: a consistent copy of the database while the server and worker keep running.

SQLite: the online backup API (a plain file copy is unsafe in WAL mode), page by page with progress, then
`PRAGMA integrity_check` on the copy. PostgreSQL: `pg_dump --format=custom` (restore with `pg_restore`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from tortoise.backends.base.config_generator import expand_db_url

from bot.db import dialect_of

PAGES_PER_STEP: Final = 1024
Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


def backup(url: str, target: Path, progress: Progress | None = None) -> str:
    """Back the database at `url` up into `target` (which must not exist); returns what was done."""
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file (a backup never overwrites one)")
    target.parent.mkdir(parents=True, exist_ok=True)
    if dialect_of(url) == "sqlite":
        return _sqlite(url, target, progress)
    return _postgres(url, target)


def _sqlite(url: str, target: Path, progress: Progress | None) -> str:
    source_path = expand_db_url(url)["credentials"].get("file_path", "")
    if not source_path or source_path == ":memory:" or not Path(source_path).exists():
        raise BackupError(f"no SQLite database at {source_path or url!r}")
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy, pages=PAGES_PER_STEP, progress=_report(progress))
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {verdict}")
    partial.rename(target)  # only a checked copy gets the name
    return f"SQLite {source_path} -> {target} ({target.stat().st_size:,} bytes, integrity ok)"


def _report(progress: Progress | None) -> Callable[[int, int, int], None] | None:
    if progress is None:
        return None

    def step(_status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    return step


def _postgres(url: str, target: Path) -> str:
    pg_dump = shutil.which("pg_dump") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), reverse=True)), None
    )
    if pg_dump is None:
        raise BackupError("pg_dump not found: install the PostgreSQL client (apt-get install postgresql-client)")
    parts = urlsplit(url)
    env = {**os.environ, "PGPASSWORD": parts.password or ""}  # not on the command line (ps would show it)
    dsn = parts._replace(scheme="postgresql", netloc=f"{parts.username or ''}@{parts.hostname}:{parts.port or 5432}")
    done = subprocess.run(
        [pg_dump, "--format=custom", f"--file={target}", dsn.geturl()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    return f"PostgreSQL {parts.hostname}:{parts.port or 5432}{parts.path} -> {target} ({target.stat().st_size:,} bytes)"
