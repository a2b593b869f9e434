"""structlog set-up: key-value lines for a terminal, JSON lines in production.

Callback payloads reach the logs only through `redact`: truncated, with phone numbers, long digit runs
and tokens masked. The processor applies it to the keys that carry payloads (`payload`, `body`, `row`...)
whoever logs them, so a 5 MB status body or a customer's mobile number never lands in a log line.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Final

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


def configure_logging(settings: LoggingSettings) -> None:
    level = getattr(logging, settings.level)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        redact_payloads,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if settings.format == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries (aiohttp access log, arq, tortoise) log through stdlib logging.
    logging.basicConfig(level=max(level, logging.INFO), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
