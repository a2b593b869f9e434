"""The usage ledger (`llm_usage`): one row per request to the model or cache hit; the budget reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Sum

from models.llm import LlmUsage


@dataclass(frozen=True)
class Usage:
    """One ledger row to write."""

    at: datetime
    day: str  # YYYY-MM-DD in the business time zone
    model: str
    purpose: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached: bool = False
    ok: bool = True
    error: str | None = None
    latency_ms: int | None = None


async def record_usage(usage: Usage) -> None:
    await LlmUsage.create(
        at=usage.at,
        day=usage.day,
        model=usage.model,
        purpose=usage.purpose,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost=usage.cost,
        cached=usage.cached,
        ok=usage.ok,
        error=usage.error,
        latency_ms=usage.latency_ms,
    )


async def tokens_used(day: str) -> int:
    """Prompt + completion tokens spent on `day` by every model and purpose (the budget is shared)."""
    rows = (
        await LlmUsage.filter(day=day)
        .annotate(prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
        .values("prompt", "completion")
    )
    if not rows:
        return 0
    return int(rows[0]["prompt"] or 0) + int(rows[0]["completion"] or 0)
