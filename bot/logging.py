"""structlog set-up: key-value lines for a terminal, JSON lines in production, for every logger.

The standard library's loggers (arq, tortoise, aiohttp, asyncio) are routed through structlog's
`ProcessorFormatter`, so a line from arq is as much JSON (or console) as one of ours, with the same
timestamp (in `logging.timezone`), context (`request_id`...) and redaction. Field values are plain: a
datetime is its ISO text, never `datetime.datetime(…)`.

Callback payloads reach the logs only through `redact`: truncated, with phone numbers, long digit runs
and tokens masked. The processor applies it to the keys that carry payloads (`payload`, `body`, `row`...)
whoever logs them, so a 5 MB status body or a customer's mobile number never lands in a log line.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dt_time
from enum import Enum
from typing import Any, Final
from zoneinfo import ZoneInfo

import structlog

from bot.settings import LoggingSettings

LOGGED_PAYLOAD_CHARS: Final = 500
PAYLOAD_KEYS: Final = frozenset({"payload", "body", "fields", "row", "raw", "data"})
_MAX_DEPTH: Final = 8
# Order matters: tokens first (their values may hold digits), then phones, then any long digit run.
_SECRETS: Final = (
    (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer ***"),
    (
        re.compile(r"""(?i)((?:token|key|secret|password|signature|sign)["']?\s*[=:]\s*["']?)[^\s&"',;}\]]+"""),
        r"\1***",
    ),
    (re.compile(r"(?<!\d)1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"), "[phone]"),  # a Chinese mobile, maybe spaced
    (re.compile(r"\d{7,}"), "[digits]"),  # landlines, ID card and bank numbers, ids: none belong in a log
)


def redact(value: Any, limit: int = LOGGED_PAYLOAD_CHARS) -> str:
    """`value` (a payload, body, row or any text) as at most `limit` characters fit for a log line."""
    window = limit + 32  # masks a number that straddles the cut before cutting
    text = value if isinstance(value, str) else _render(value, window)
    total = len(text)
    text = text[:window]
    for pattern, mask in _SECRETS:
        text = pattern.sub(mask, text)
    if total > limit or len(text) > limit:
        return f"{text[:limit]}…[{total} chars]" if isinstance(value, str) else f"{text[:limit]}…"
    return text


def _render(value: Any, budget: int) -> str:
    """A JSON-like rendering that stops once `budget` characters are out (a payload may be 10 MB or
    nested thousands deep)."""
    parts: list[str] = []
    size = 0

    def emit(piece: str) -> bool:
        nonlocal size
        parts.append(piece)
        size += len(piece)
        return size < budget

    def walk(item: Any, depth: int) -> bool:
        if isinstance(item, dict | list | tuple) and depth > _MAX_DEPTH:
            return emit("{…}" if isinstance(item, dict) else "[…]")
        if isinstance(item, dict):
            ok = emit("{") and all(
                emit(("", ", ")[i > 0] + f'"{str(key)[:budget]}": ') and walk(child, depth + 1)
                for i, (key, child) in enumerate(item.items())
            )
            return ok and emit("}")
        if isinstance(item, list | tuple):
            ok = emit("[") and all((not i or emit(", ")) and walk(child, depth + 1) for i, child in enumerate(item))
            return ok and emit("]")
        return emit(_scalar(item, budget))

    walk(value, 0)
    return "".join(parts)


def _scalar(item: Any, budget: int) -> str:
    if isinstance(item, str):
        return f'"{item[:budget]}"'
    if isinstance(item, bytes | bytearray):
        return repr(bytes(item[:budget]))
    if isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > 64:
        return "[big integer]"  # str() of a 5,000-digit int raises
    return str(item)[:budget]


def redact_payloads(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: every payload-carrying key goes through `redact`."""
    for key in PAYLOAD_KEYS.intersection(event):
        event[key] = redact(event[key])
    return event


def plain_values(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: field values as JSON-friendly plain values, never Python reprs (a datetime
    as its ISO text, a timedelta as seconds, an enum as its value, a set as a list...)."""
    for key, value in event.items():
        if key not in _META_KEYS and not isinstance(value, str | int | float | bool | None):
            event[key] = _plain(value, 0)
    return event


_META_KEYS: Final = frozenset({"exc_info", "stack_info", "_record", "_from_structlog"})


def _plain(value: Any, depth: int) -> Any:  # noqa: PLR0911 - one branch per kind of value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date | dt_time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return _plain(value.value, depth)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if depth < _MAX_DEPTH and isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if depth < _MAX_DEPTH and isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, depth + 1) for v in value]
    return str(value)  # Decimal, UUID, Path, and anything else: its text, not its repr


def timestamper(tz: tzinfo) -> structlog.types.Processor:
    """structlog processor: `timestamp` in `tz` with its offset (2026-12-08T09:30:00.123+08:00)."""

    def add_timestamp(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event["timestamp"] = datetime.now(tz).isoformat(timespec="milliseconds")
        return event

    return add_timestamp


ARQ_JOB_START: Final = "%6.2fs → %s(%s)%s"  # arq.worker's per-job lines (arq 0.28 worker.run_job)
ARQ_JOB_FINISH: Final = "%6.2fs ← %s ● %s"
SLOW_CRON_S: Final = 1.0
_NOTHING_DONE: Final = frozenset({"", "None", "0", "0.0", "False", "[]", "{}", "()"})


class CronChatterFilter(logging.Filter):
    """Puts arq's start/finish lines of cron jobs at DEBUG unless the job did something (a non-empty,
    non-zero result) or was slow: the sweepers run every few seconds and were half of all log lines."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg not in (ARQ_JOB_START, ARQ_JOB_FINISH) or not isinstance(args, tuple) or len(args) < 3:
            return True
        if not str(args[1]).startswith("cron:"):
            return True
        if record.msg == ARQ_JOB_FINISH and (_slow(args[0]) or did_something(str(args[2]))):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.level <= logging.DEBUG


def _slow(duration_s: object) -> bool:
    return isinstance(duration_s, int | float) and duration_s > SLOW_CRON_S


def did_something(result: str) -> bool:
    """Whether an arq result text (a truncated repr) reports work: anything but None, zeros and empties,
    also inside a dict of counts like {'steps': 0, 'deliveries': 0}."""
    text = result.strip()
    if text in _NOTHING_DONE:
        return False
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return True  # truncated or not a literal: say it
    return not _empty(value)


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return all(_empty(v) for v in value)
    return not value


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (the tests swap it), through one lock for all lines."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


# Third-party loggers that are noise below these levels (tortoise logs every SQL statement at DEBUG and
# its start-up/shutdown at INFO; asyncpg/aiosqlite at DEBUG).
_LIBRARY_FLOORS: Final = {"tortoise": logging.WARNING, "aiosqlite": logging.INFO, "asyncio": logging.INFO}


def configure_logging(settings: LoggingSettings, default_timezone: str = "UTC") -> None:
    """One pipeline for every line: structlog's and the libraries' (arq, tortoise, aiohttp, asyncio) alike
    go through the same processors and renderer, as JSON or console lines, timestamped in
    `logging.timezone` (default: the business time zone)."""
    level = getattr(logging, settings.level)
    tz = ZoneInfo(settings.timezone or default_timezone)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        redact_payloads,
        plain_values,
        timestamper(tz),
    ]
    renderer: structlog.types.Processor
    final: list[structlog.types.Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if settings.format == "json":
        final.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer]))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in _LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(level, floor))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # bot.access_log writes the access log
    arq = logging.getLogger("arq.worker")
    for old_filter in [f for f in arq.filters if isinstance(f, CronChatterFilter)]:
        arq.removeFilter(old_filter)
    arq.addFilter(CronChatterFilter(level))
