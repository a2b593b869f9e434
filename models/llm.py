"""The LLM usage ledger: one row per call (or cache hit), for the daily token budget and cost reports."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from bot import limits


class LlmUsage(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    day = fields.CharField(max_length=limits.DAY_CHARS)  # YYYY-MM-DD in the business time zone: the budget's day
    model = fields.CharField(max_length=limits.LLM_MODEL_CHARS)
    purpose = fields.CharField(max_length=limits.KIND_CHARS)  # classify | draft_reply
    prompt_tokens = fields.IntField(default=0)
    completion_tokens = fields.IntField(default=0)
    cost = fields.FloatField(default=0.0)
    cached = fields.BooleanField(default=False)
    ok = fields.BooleanField(default=True)
    error = fields.TextField(null=True)
    latency_ms = fields.IntField(null=True)

    class Meta:
        table = "llm_usage"
        indexes = (("day", "model"),)
