"""`rules/message_types.yaml`: the message type catalogue seeded into the `message_types` table."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.rules.loading import load_rule_file

Category = Literal["user", "staff", "operator"]


class MessageTypeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z_]*$")
    name: str = Field(min_length=1)
    category: Category
    description: str = ""


class MessageTypesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    types: tuple[MessageTypeRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> MessageTypesFile:
        codes = [t.code for t in self.types]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"type codes listed more than once: {dupes}")
        return self


def load_message_types(path: Path) -> MessageTypesFile:
    return load_rule_file(path, MessageTypesFile)
