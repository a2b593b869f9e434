"""Database set-up shared by the web app, the worker and the CLI: tortoise config, open/close, migrations.

aerich writes migrations as SQL for one dialect, so `migrations/` holds one set per dialect
(`migrations/sqlite/`, `migrations/postgres/`) generated from the same models.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, Literal

import structlog
from aerich import Command
from aerich.exceptions import NotSupportError
from aerich.migrate import Migrate
from aerich.models import Aerich
from aerich.utils import file_module_info, import_py_module
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext, require_context
from tortoise.transactions import in_transaction

from models import MODEL_MODULES

Dialect = Literal["sqlite", "postgres"]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent.parent / "migrations"
log = structlog.get_logger(__name__)


def is_write_contention(exc: BaseException) -> bool:
    """SQLite's write lock was held elsewhere (or a read snapshot went stale): retry; nothing is wrong."""
    return "database is locked" in str(exc)


def dialect_of(url: str) -> Dialect:
    return "sqlite" if url.startswith("sqlite://") else "postgres"


def tortoise_config(url: str) -> dict[str, Any]:
    """The tortoise/aerich config for a database URL (SQLite gets WAL + synchronous=NORMAL).

    The connection is named after the dialect: tortoise caches built SQL per connection name, so a
    process that opens SQLite and then PostgreSQL (the tests) would otherwise reuse SQLite's SQL.
    """
    name = dialect_of(url)
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    connection = expand_db_url(url)
    if dialect_of(url) == "sqlite":
        creds = connection["credentials"]
        creds.setdefault("synchronous", "NORMAL")
        creds.setdefault("busy_timeout", 5000)
        path = creds.get("file_path", "")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {name: connection},
        "apps": {"models": {"models": [*MODEL_MODULES, "aerich.models"], "default_connection": name}},
        "use_tz": True,
        "timezone": "UTC",
    }


@asynccontextmanager
async def open_db(url: str) -> AsyncIterator[TortoiseContext]:
    """Init tortoise and close its connections in the same task (else the process hangs at exit)."""
    ctx = await Tortoise.init(config=tortoise_config(url))
    try:
        # Connect here, in the owning task: a connection first opened inside a job's task would be
        # invisible to `close_connections()` below and keep the process alive at exit.
        await connection().execute_query("SELECT 1")
        yield ctx
    finally:
        await ctx.close_connections()


def connection() -> BaseDBAsyncClient:
    """The one open connection (its name depends on the dialect)."""
    return get_connection(next(iter(require_context().connections.db_config)))


def migrations_location(url: str) -> Path:
    return MIGRATIONS_DIR / dialect_of(url)


async def migrate(url: str) -> list[str]:
    """Apply every pending migration; returns the versions applied. Tortoise must not be open."""
    command = Command(tortoise_config(url), app="models", location=str(migrations_location(url)))
    async with command:
        await command.init()
        applied = await command.upgrade(run_in_transaction=True)
    for version in applied:
        log.info("migration applied", version=version, dialect=dialect_of(url))
    return applied


async def rollback(url: str, to_version: int) -> list[str]:
    """Undo every applied migration numbered above `to_version`, newest first, each in its transaction
    (its `downgrade` SQL, then its aerich row); returns the versions undone. Tortoise must not be open.

    Not aerich's `downgrade`: that undoes the newer versions oldest first, and refuses a migration whose
    downgrade is empty (SQLite's 6 changes only MODELS_STATE)."""
    location = migrations_location(url) / "models"
    command = Command(tortoise_config(url), app="models", location=str(migrations_location(url)))
    undone: list[str] = []
    async with command:
        await command.init()
        applied = await Aerich.filter(app="models").all()
        known = {_number(row.version): row for row in applied}
        if to_version not in known:
            versions = ", ".join(str(n) for n in sorted(known)) or "none"
            raise MigrationError(f"version {to_version} is not applied here (applied: {versions})")
        for number in sorted((n for n in known if n > to_version), reverse=True):
            row = known[number]
            module = import_py_module(file_module_info(location, Path(row.version).stem))
            async with in_transaction(next(iter(require_context().connections.db_config))) as conn:
                sql = await module.downgrade(conn)
                if sql.strip():
                    await conn.execute_script(sql)
                await row.delete(using_db=conn)
            undone.append(row.version)
            log.info("migration rolled back", version=row.version, dialect=dialect_of(url))
    return undone


def _number(version: str) -> int:
    return int(version.split("_", 1)[0])


class MigrationError(Exception):
    """A migration cannot be made or undone as asked; the message says why and what to do instead."""


_AERICH_OPERATOR_LISTS: Final = (
    "upgrade_operators",
    "downgrade_operators",
    "_upgrade_fk_m2m_index_operators",
    "_downgrade_fk_m2m_index_operators",
    "_upgrade_m2m",
    "_downgrade_m2m",
)
HAND_WRITTEN_HINT: Final = (
    "write it by hand for both dialects (migrations/sqlite/models/, migrations/postgres/models/; see the 5_*.py"
    " files) and end each file with the output of `python scripts/models_state.py`"
)


async def make_migration(url: str, name: str, location: Path | None = None) -> str | None:
    """Generate a migration for `url`'s dialect (the initial one when none exists) under `location`
    (default: migrations/<dialect>); returns its file name, None or "" when the models did not change.
    Offline (no DB I/O) but for PostgreSQL, whose driver wants a server to connect to.
    A change aerich cannot express (most column changes on SQLite) raises MigrationError."""
    location = location or migrations_location(url)
    for attr in _AERICH_OPERATOR_LISTS:  # class-level in aerich, never reset: one run's (or failure's) SQL
        setattr(Migrate, attr, [])  # would land in the next run's file (makemigrations does two per process)
    command = Command(tortoise_config(url), app="models", location=str(location))
    if not (location / "models").exists():
        try:
            await command.init_migrations(safe=True)
        finally:
            await command.aclose()
        return "initial"
    async with command:
        await command.init(offline=True)
        try:
            return await command.migrate(name, no_input=True, offline=True)
        except NotSupportError as exc:
            raise MigrationError(
                f"{dialect_of(url)}: aerich cannot generate this change ({exc}); {HAND_WRITTEN_HINT}"
            ) from None
