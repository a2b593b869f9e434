"""The running rule set, swapped whole on reload: from the admin API, or by watching the rule files.

A reload validates and self-tests the new set first (off the event loop); any failure keeps the running
set and reports file, line and field. Every applied change is logged with who asked and a diff summary.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import structlog

from bot.metrics import count_reload
from bot.rules.loading import RuleFileError
from bot.understanding.ruleset import FILES, RuleSet, diff_summary, load_ruleset

log = structlog.get_logger(__name__)
WATCH_INTERVAL_S: Final = 2.0


@dataclass(frozen=True)
class ReloadResult:
    applied: bool
    version: str  # the running version afterwards
    previous: str
    diff: str
    error: str | None = None


class RuleStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._current = load_ruleset(directory)  # a broken set at start-up stops the process, with the error
        self._stamps = self._mtimes()
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        # For the console's rules page (bot/console/rules.py): when the running set was loaded, and the
        # last reload that was refused (when, and its error), cleared once a reload applies.
        self.loaded_at = datetime.now(UTC)
        self.last_refused: tuple[datetime, str] | None = None
        log.info("rules loaded", version=self._current.version, summary=diff_summary(None, self._current))

    @property
    def current(self) -> RuleSet:
        return self._current

    def _mtimes(self) -> tuple[float, ...]:
        stamps = []
        for name in FILES:
            try:
                stamps.append((self._directory / name).stat().st_mtime)
            except OSError:
                stamps.append(0.0)
        return tuple(stamps)

    async def reload(self, actor: str) -> ReloadResult:
        async with self._lock:
            old = self._current
            self._stamps = self._mtimes()
            try:
                new = await asyncio.to_thread(load_ruleset, self._directory)
            except RuleFileError as exc:
                log.warning(
                    "rules reload refused; the running set stays", actor=actor, version=old.version, error=str(exc)
                )
                count_reload("refused")
                self.last_refused = (datetime.now(UTC), str(exc))
                return ReloadResult(False, old.version, old.version, "", str(exc))
            if new.version == old.version:
                count_reload("unchanged")
                return ReloadResult(False, old.version, old.version, "no change")
            self._current = new
            self.loaded_at, self.last_refused = datetime.now(UTC), None
            diff = diff_summary(old, new)
            log.info("rules reloaded", actor=actor, version=new.version, previous=old.version, diff=diff)
            count_reload("applied")
            return ReloadResult(True, new.version, old.version, diff)

    def start_watching(self, interval_s: float = WATCH_INTERVAL_S) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch(interval_s), name="rules-watch")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            if self._mtimes() != self._stamps:
                await self.reload("file change")
