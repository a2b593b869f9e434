"""`hub backup`: a consistent, checked copy of either database while it is in use."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.backup import BackupError, backup
from bot.cli import main
from bot.db import open_db
from models.conversations import Conversation


async def seed(db_url: str, n: int) -> None:
    async with open_db(db_url):
        now = datetime(2026, 12, 7, tzinfo=UTC)
        for i in range(n):
            await Conversation.create(kind="group", key=f"群{i}", name=f"群{i}", created_at=now)


async def test_a_backup_holds_what_the_database_holds(db_url: str, tmp_path: Path) -> None:
    await seed(db_url, 3)
    target = tmp_path / "backups" / "hub.bak"
    seen: list[tuple[int, int]] = []
    done = backup(db_url, target, lambda copied, total: seen.append((copied, total)))
    assert str(target) in done
    if db_url.startswith("sqlite://"):
        copy = sqlite3.connect(target)
        try:
            assert copy.execute('SELECT COUNT(*) FROM "conversations"').fetchone()[0] == 3
        finally:
            copy.close()
        assert seen
        assert seen[-1][0] == seen[-1][1]  # progress ends at every page copied
        assert not target.with_name("hub.bak.partial").exists()
    else:
        assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format, for pg_restore
    with pytest.raises(BackupError, match="exists already"):
        backup(db_url, target)  # never overwrites


def test_the_command_says_what_it_did_or_why_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB__DATABASE__URL", f"sqlite://{tmp_path / 'missing.sqlite3'}")
    assert main(["backup", str(tmp_path / "out.sqlite3")]) == 1
    assert "no SQLite database" in capsys.readouterr().err
