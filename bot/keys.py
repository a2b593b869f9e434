"""Typed application keys: each resource is declared once here."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from arq.connections import ArqRedis

from bot.clock import Clock
from bot.commands.outcomes import Outcomes
from bot.commands.service import Commands
from bot.ingest.writer import IngestWriter
from bot.llm import LlmClassifier
from bot.queue import Enqueuer
from bot.rules.people import Directory
from bot.runtime import Runtime
from bot.settings import Settings
from bot.understanding.store import RuleStore

SETTINGS: Final = web.AppKey("settings", Settings)
CLOCK: Final = web.AppKey("clock", Clock)
REDIS: Final = web.AppKey("redis", ArqRedis)
ENQUEUER: Final = web.AppKey("enqueuer", Enqueuer)
WRITER: Final = web.AppKey("writer", IngestWriter)
DIRECTORY: Final = web.AppKey("directory", Directory)
COMMANDS: Final = web.AppKey("commands", Commands)
OUTCOMES: Final = web.AppKey("outcomes", Outcomes)
RULES: Final = web.AppKey("rules", RuleStore)
LLM: Final = web.AppKey("llm", LlmClassifier)  # always set; `enabled` False when no LLM is configured
RUNTIME: Final = web.AppKey("runtime", Runtime)  # every service (bot/runtime.py); the keys above are its parts
