"""Issue 16: `hub migrate --to VERSION` rolls back on both databases, and `hub makemigrations` needs no
PostgreSQL of its own (it starts a throwaway one) and says clearly what aerich cannot generate."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.db import MIGRATIONS_DIR, connection, dialect_of, make_migration, open_db

# The tables and columns migrations 5 and 6 changed, as each database shows them.
COLUMN_SQL = {
    "sqlite": "SELECT name FROM pragma_table_info('{table}')",
    "postgres": "SELECT column_name AS name FROM information_schema.columns WHERE table_name = '{table}'",
}


@pytest.fixture(autouse=True)
def _restore_logging(restore_logging: None) -> None:
    """The CLI configures logging for the process (tests/conftest.py puts it back)."""


async def _schema(url: str) -> tuple[list[int], set[str], int | None]:
    """Applied migration numbers, the columns of `commands`, and robots.name's length on PostgreSQL."""
    async with open_db(url):
        conn = connection()
        rows = await conn.execute_query_dict("SELECT version FROM aerich")
        columns = await conn.execute_query_dict(COLUMN_SQL[dialect_of(url)].format(table="commands"))
        length = None
        if dialect_of(url) == "postgres":
            found = await conn.execute_query_dict(
                "SELECT character_maximum_length AS n FROM information_schema.columns"
                " WHERE table_name = 'robots' AND column_name = 'name'"
            )
            length = found[0]["n"]
    return sorted(int(r["version"].split("_")[0]) for r in rows), {c["name"] for c in columns}, length


def schema(url: str) -> tuple[list[int], set[str], int | None]:
    return asyncio.run(_schema(url))


def test_migrate_to_rolls_back_and_migrate_goes_forward_again(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB__DATABASE__URL", db_url)
    monkeypatch.setenv("HUB__DATA_DIR", str(tmp_path))
    latest = max(int(p.name.split("_")[0]) for p in (MIGRATIONS_DIR / dialect_of(db_url) / "models").glob("*.py"))
    versions, columns, name_length = schema(db_url)
    assert versions == list(range(latest + 1))
    assert "outcome_due" in columns  # migration 5
    assert name_length in (None, 255)  # migration 6 (PostgreSQL only: SQLite keeps no VARCHAR length)

    assert main(["migrate", "--to", "5"]) == 0
    versions, columns, name_length = schema(db_url)
    assert versions == [0, 1, 2, 3, 4, 5]
    assert "outcome_due" in columns
    assert name_length in (None, 128)  # 6 undone

    assert main(["migrate", "--to", "4"]) == 0
    versions, columns, _ = schema(db_url)
    assert versions == [0, 1, 2, 3, 4]
    assert "outcome_due" not in columns  # 5 undone: its column and index are gone

    assert main(["migrate"]) == 0
    versions, columns, name_length = schema(db_url)
    assert versions == list(range(latest + 1))
    assert "outcome_due" in columns
    assert name_length in (None, 255)


def test_migrate_to_a_version_not_applied_says_so(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB__DATABASE__URL", db_url)
    monkeypatch.setenv("HUB__DATA_DIR", str(tmp_path))
    assert main(["migrate", "--to", "99"]) == 1
    assert "hub: migrate: version 99 is not applied here (applied: 0, 1, 2" in capsys.readouterr().err


@pytest.fixture
def migrations_before_6(tmp_path: Path) -> Path:
    """A copy of migrations/ as it was before 6: the models now differ from its last state by 6's changes
    (column lengths, which aerich can generate on PostgreSQL but not on SQLite)."""
    root = tmp_path / "migrations"
    for dialect in ("sqlite", "postgres"):
        shutil.copytree(MIGRATIONS_DIR / dialect / "models", root / dialect / "models", ignore=_pycache)
        for path in (root / dialect / "models").glob("*.py"):
            if int(path.name.split("_")[0]) >= 6:
                path.unlink()
    return root


def _pycache(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


@pytest.mark.slow
def test_makemigrations_starts_its_own_postgres_and_says_what_sqlite_cannot_do(
    migrations_before_6: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB__DATA_DIR", str(tmp_path))
    assert main(["makemigrations", "widen", "--dir", str(migrations_before_6)]) == 1
    out, err = capsys.readouterr()
    made = sorted((migrations_before_6 / "postgres" / "models").glob("6_*_widen.py"))
    assert len(made) == 1, out + err
    assert f"postgres: {made[0].name}" in out
    upgrade = made[0].read_text().split("async def downgrade")[0]
    assert upgrade.count('ALTER TABLE "robots" ALTER COLUMN "name" TYPE VARCHAR(255)') == 1
    assert "`" not in upgrade  # nothing left over from the failed SQLite run (aerich keeps it class-wide)
    assert "sqlite: aerich cannot generate this change (Modify column is unsupported in SQLite.)" in err
    assert "python scripts/models_state.py" in err
    assert not list((migrations_before_6 / "sqlite" / "models").glob("6_*"))


async def test_makemigrations_finds_no_change_when_the_models_match(tmp_path: Path) -> None:
    location = tmp_path / "sqlite"
    shutil.copytree(MIGRATIONS_DIR / "sqlite" / "models", location / "models", ignore=_pycache)
    assert not await make_migration(f"sqlite://{tmp_path}/x.sqlite3", "nothing", location)
    assert sorted(p.name for p in (location / "models").glob("*.py")) == sorted(
        p.name for p in (MIGRATIONS_DIR / "sqlite" / "models").glob("*.py")
    )
