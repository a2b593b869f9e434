"""jieba, set up once per process: its dictionary cache under our data directory and quiet logs. The
dictionary itself (about 1 s, +60 MB) is loaded by the engine only when a rule uses jieba tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import jieba


def configure_jieba(data_dir: Path) -> None:
    cache = data_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.tmp_dir = str(cache)
