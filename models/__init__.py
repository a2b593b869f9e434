"""tortoise-orm models, one module per aggregate, with their small query functions."""

from __future__ import annotations

from typing import Final

MODEL_MODULES: Final = (
    "models.robots",
    "models.conversations",
    "models.people",
    "models.messages",
    "models.message_types",
    "models.callbacks",
    "models.commands",
    "models.llm",
    "models.alerts",
    "models.tasks",
    "models.accounts",
)
