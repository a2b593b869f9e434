"""The LLM fallback, shared by the pipeline and the identify-type API: asked only when the rules are
not confident enough and an LLM is configured; any LLM trouble keeps the rules' answer."""

from __future__ import annotations

from typing import Final

from bot.llm import LlmClassifier, TypeChoice
from bot.understanding.engine import Classification, MessageInput
from bot.understanding.ruleset import RuleSet

LLM_CONTEXT_LINES: Final = 5


async def classify_with_fallback(
    msg: MessageInput, rules: RuleSet, llm: LlmClassifier | None, threshold: float
) -> Classification:
    found = rules.engine.classify(msg)
    if llm is None or not llm.enabled or found.confidence >= threshold:
        return found
    category = rules.engine.category_of(msg.role)
    types = [t for t in rules.message_types.types if t.category == category]
    choices = [TypeChoice(t.code, t.name, t.category, t.description) for t in types]
    lines = [(c.role, c.text) for c in msg.context[-LLM_CONTEXT_LINES:]]
    verdict = await llm.classify(msg.text, msg.role, lines, choices)
    if verdict is None:
        return found
    mtype = rules.engine.types[verdict.type]
    reason = f"LLM: {verdict.reason} (rules said {found.type} {found.confidence:.2f})"
    return Classification(mtype.code, mtype.name, mtype.category, round(verdict.confidence, 3), reason, "llm")
