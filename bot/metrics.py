"""Prometheus metrics: every definition in one place, and the few helpers the instrumented modules call.

Counters and histograms are kept by the process that does the work (a server counts callbacks, a worker
counts processed messages). With several processes, prometheus-client's multiprocess mode sums them:
each process writes its values into memory-mapped files under `PROMETHEUS_MULTIPROC_DIR` (read when
prometheus_client is first imported, so it must be in the environment before the process starts: `hub
run` sets and wipes it for its children), and `GET /metrics` reads every file (bot/api/metrics.py).
Without the variable each process keeps its own values and /metrics shows the serving process's only.

No gauge lives in those files: backlog, open alerts, tasks, robots and worker heartbeats are read from
the database and Redis when scraped, so a dead process can leave no stale gauge behind.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Final, TypeVar

from aiohttp import web
from prometheus_client import Counter, Histogram

from bot.api.envelope import ApiError

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS_S: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

CALLBACKS: Final = Counter(
    "hub_callbacks", "WorkTool callbacks answered, by kind and HTTP status class", ["kind", "outcome"]
)
DEDUP_VERDICTS: Final = Counter(
    "hub_dedup_verdicts", "Stored message callbacks by dedup verdict (new, copy, redelivery)", ["verdict"]
)
INGEST_BATCH_SIZE: Final = Histogram(
    "hub_ingest_batch_size", "Callbacks per ingest transaction", buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
)
INGEST_COMMIT_SECONDS: Final = Histogram(
    "hub_ingest_commit_seconds",
    "Time to commit one ingest batch (retries and splits included)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
MESSAGES_PROCESSED: Final = Counter(
    "hub_messages_processed", "Messages the worker finished, by outcome (processed, failed)", ["outcome"]
)
PROCESSING_SECONDS: Final = Histogram(
    "hub_processing_latency_seconds", "From a message's arrival to its processing", buckets=LATENCY_BUCKETS_S
)
COMMANDS: Final = Counter(
    "hub_commands", "Commands that reached a final status, by status and robot", ["status", "robot"]
)
RESULT_SECONDS: Final = Histogram(
    "hub_command_result_seconds", "From a command's send to its result (succeeded or failed)", buckets=LATENCY_BUCKETS_S
)
NOTIFICATIONS: Final = Counter(
    "hub_notifications",
    "Alert notifications by channel and status (sent, delivered, retrying, failed)",
    ["channel", "status"],
)
LLM_CALLS: Final = Counter("hub_llm_calls", "LLM ledger rows by outcome (ok, error, cached)", ["outcome"])
LLM_TOKENS: Final = Counter("hub_llm_tokens", "LLM tokens spent, by kind (prompt, completion)", ["kind"])
LLM_COST: Final = Counter("hub_llm_cost", "LLM cost at the configured prices (llm.price_per_1k_*)")
RULE_RELOADS: Final = Counter("hub_rule_reloads", "Rule reloads by outcome (applied, refused, unchanged)", ["outcome"])

# Children made once: the callback path only looks one up and increments it.
_VERDICTS: Final = {verdict: DEDUP_VERDICTS.labels(verdict) for verdict in ("new", "copy", "redelivery")}

H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def count_callbacks(kind: str) -> Callable[[H], H]:
    """Decorator for a callback handler: count its answer by status class, errors included."""
    by_class = {cls: CALLBACKS.labels(kind, f"{cls}xx") for cls in (2, 3, 4, 5)}

    def wrap(handler: H) -> H:
        @functools.wraps(handler)
        async def counted(request: web.Request) -> web.StreamResponse:
            try:
                response = await handler(request)
            except (ApiError, web.HTTPException) as exc:
                by_class.get(exc.status // 100, by_class[5]).inc()
                raise
            except Exception:
                by_class[5].inc()
                raise
            by_class.get(response.status // 100, by_class[5]).inc()
            return response

        return counted  # type: ignore[return-value]

    return wrap


def count_verdict(verdict: str) -> None:
    _VERDICTS[verdict].inc()


def observe_batch(size: int, seconds: float) -> None:
    INGEST_BATCH_SIZE.observe(size)
    INGEST_COMMIT_SECONDS.observe(seconds)


def observe_processed(now: datetime, received: Iterable[datetime], outcome: str = "processed") -> None:
    count = 0
    for at in received:
        PROCESSING_SECONDS.observe(max((now - at).total_seconds(), 0.0))
        count += 1
    MESSAGES_PROCESSED.labels(outcome).inc(count)


def observe_command(
    status: str, robot_id: str, sent_at: datetime | None, finished_at: datetime | None, *, with_result: bool
) -> None:
    COMMANDS.labels(status, robot_id).inc()
    if with_result and sent_at is not None and finished_at is not None:
        RESULT_SECONDS.observe(max((finished_at - sent_at).total_seconds(), 0.0))


def count_notifications(channel: str, status: str, rows: int = 1) -> None:
    NOTIFICATIONS.labels(channel, status).inc(rows)


def observe_llm(*, ok: bool, cached: bool, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
    LLM_CALLS.labels("cached" if cached else "ok" if ok else "error").inc()
    if prompt_tokens:
        LLM_TOKENS.labels("prompt").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels("completion").inc(completion_tokens)
    if cost > 0:
        LLM_COST.inc(cost)


def count_reload(outcome: str) -> None:
    RULE_RELOADS.labels(outcome).inc()


def multiproc_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def reset_multiproc_dir(path: Path) -> Path:
    """Empty (or create) the directory the processes will write their metric files into; before they start."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path.resolve()
