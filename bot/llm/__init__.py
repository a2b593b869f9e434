"""The optional LLM fallback for message classification (DESIGN §3.10); off unless configured."""

from __future__ import annotations

from bot.llm.classifier import LlmClassifier, LlmVerdict
from bot.llm.prompt import TypeChoice

__all__ = ["LlmClassifier", "LlmVerdict", "TypeChoice"]
