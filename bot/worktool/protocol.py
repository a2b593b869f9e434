"""WorkTool API bodies (worktool-protocol.md §2-§4): commands we send and the answers we read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

ACCEPTED_CODES: Final = frozenset({0, 200})  # the docs say 0, the live API answers 200 "操作成功"
MAX_COMMANDS_PER_REQUEST: Final = 100
TEXT: Final = 203
FILE: Final = 218

# Callback types for callBack/bind.
CALLBACK_RESULT: Final = 1
CALLBACK_ONLINE: Final = 5
CALLBACK_OFFLINE: Final = 6
CALLBACK_MESSAGE: Final = 11


class ApiAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: int
    message: str = ""
    data: Any = None

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED_CODES


def _json_list(value: Any) -> Any:
    # rawMsg/list sends successList/failList as JSON *strings*; result callbacks send arrays.
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            return [value]
    return value


class RawMessageRecord(BaseModel):
    """One executed command in `rawMsg/list` (rawSuccess 0 = success, as the vendor UI reads it)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message_id: str = Field(alias="messageId")
    raw_msg: str = Field(default="", alias="rawMsg")
    raw_success: int = Field(default=1, alias="rawSuccess")
    error_reason: str = Field(default="", alias="errorReason")
    run_time: str | None = Field(default=None, alias="runTime")
    type: int | None = None
    success_list: list[str] = Field(default_factory=list, alias="successList")
    fail_list: list[str] = Field(default_factory=list, alias="failList")
    time_cost: float | None = Field(default=None, alias="timeCost")

    _lists = field_validator("success_list", "fail_list", mode="before")(_json_list)


class ExecutedCommand(BaseModel):
    """The command inside `rawMsg` (a JSON string in result callbacks and rawMsg/list)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: int | None = None
    title_list: list[str] = Field(default_factory=list, alias="titleList")
    received_content: str | None = Field(default=None, alias="receivedContent")
    object_name: str | None = Field(default=None, alias="objectName")


def parse_raw_msg(raw: str | None) -> ExecutedCommand | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("list"), list) and data["list"]:
        data = data["list"][0]  # some records hold the whole request
    return ExecutedCommand.model_validate(data) if isinstance(data, dict) else None


def text_command(target: str, content: str, at_list: list[str]) -> dict[str, Any]:
    # One title per command: the phone retries failures, several targets risk duplicate sends.
    command: dict[str, Any] = {"type": TEXT, "titleList": [target], "receivedContent": content}
    if at_list:
        command["atList"] = at_list
    return command


def file_command(target: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"type": FILE, "titleList": [target], **extra}


def epoch_ms_to_datetime(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value else None
