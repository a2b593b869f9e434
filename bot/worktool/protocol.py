"""WorkTool API bodies (worktool-protocol.md §2-§4): commands we send and the answers we read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

ACCEPTED_CODES: Final = frozenset({0, 200})  # the docs say 0, the live API answers 200 "操作成功"
MAX_COMMANDS_PER_REQUEST: Final = 100
TEXT: Final = 203
FILE: Final = 218

# Callback types. callBack/bind carries 1, 5 and 6 only; the message callback is set with robotInfo/update
# (openCallback, replyAll, callbackUrl) and merely *listed* by callBack/get as type 11 (protocol §1.1).
CALLBACK_RESULT: Final = 1
CALLBACK_ONLINE: Final = 5
CALLBACK_OFFLINE: Final = 6
CALLBACK_MESSAGE: Final = 11
BINDABLE_CALLBACKS: Final = frozenset({CALLBACK_RESULT, CALLBACK_ONLINE, CALLBACK_OFFLINE})

# robotInfo replyAll: which messages the cloud calls back (the app's choices, protocol §1.1).
REPLY_ALL_MEANINGS: Final[dict[int, str]] = {
    -1: "read only: no messages at all reach the hub",
    0: "only @-messages and private chats reach the hub (group messages that do not @ the robot never arrive)",
    1: "every private and group message reaches the hub",
}
MAX_RAW_PAGES: Final = 5  # rawMsg/list pages followed for one messageId (a request carries at most 100 commands)


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


def _lenient_int(value: Any) -> Any:
    # robotInfo/get documents replyAll as a string; the live service answers ints.
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


class RobotInfo(BaseModel):
    """`robotInfo/get` data (sample 61). None: the field was missing or unreadable."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    robot_id: str | None = Field(default=None, alias="robotId")
    name: str | None = None
    open_callback: int | None = Field(default=None, alias="openCallback")
    reply_all: int | None = Field(default=None, alias="replyAll")
    callback_request_type: int | None = Field(default=None, alias="callBackRequestType")

    _ints = field_validator("open_callback", "reply_all", "callback_request_type", mode="before")(_lenient_int)

    def message_problem(self) -> str | None:
        """What keeps messages from reaching the hub, in words; None when every message is called back."""
        if self.open_callback == 0:
            return "openCallback=0: the message callback is off, no messages at all reach the hub"
        if self.open_callback is None:
            return "openCallback unknown: the robot's message callback may be off"
        if self.reply_all == 1:
            return None
        if self.reply_all in REPLY_ALL_MEANINGS:
            return f"replyAll={self.reply_all}: {REPLY_ALL_MEANINGS[self.reply_all]}"
        return f"replyAll={self.reply_all!r} unknown: group messages may not reach the hub"


ROW_KEYS: Final = ("list", "records", "rows")


@dataclass(frozen=True, slots=True)
class RawMessagePage:
    """One `rawMsg/list` answer's data: the rows, and how many pages there are when the server says so."""

    rows: list[Any]
    total_pages: int | None = None


def read_raw_message_page(data: Any, size: int) -> RawMessagePage:
    """`data` as a plain list (the docs' sample 60) or a page object `{list | records, totalPage | pages, total}`.
    A page object with a null list is empty only when its `total` says 0. Raises ValueError for anything else
    (a null `data` included): that is not "no rows"."""
    if isinstance(data, list):
        return RawMessagePage(rows=data)
    if isinstance(data, dict):
        rows = next((data[k] for k in ROW_KEYS if isinstance(data.get(k), list)), None)
        if rows is None and any(k in data and data[k] is None for k in ROW_KEYS) and str(data.get("total")) == "0":
            rows = []
        if rows is not None:
            pages = next((int(data[k]) for k in ("totalPage", "pages", "totalPages") if _is_count(data.get(k))), None)
            if pages is None and _is_count(data.get("total")) and size > 0:
                pages = -(-int(data["total"]) // size)
            return RawMessagePage(rows=rows, total_pages=pages)
    raise ValueError(f"rawMsg/list data is neither a list nor a page object: {str(data)[:200]}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit()


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
