"""Pure builders for what the simulated cloud sends and answers, shaped like the live service (protocol §1-§4).

No I/O and no clock: times are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from bot.simulator.scenario import Group, Mode, RawMsgShape, StatusShape

OK_CODE: Final = 200
OK_MESSAGE: Final = "操作成功"  # the live API answers code 200 "操作成功", not the documented 0
SNOWFLAKE_EPOCH_MS: Final = 1288834974657  # Twitter's: gives 19-digit ids today, like "1784417250785046528"
CALLBACK_TYPE_NAMES: Final[dict[int, str]] = {
    0: "群二维码回调",
    1: "指令消息回调",
    5: "机器人上线回调",
    6: "机器人下线回调",
    11: "消息回调",
}
# callBack/bind takes these; type 11 (the message callback) is only *listed* by callBack/get: it is set with
# robotInfo/update (protocol §1.1).
BINDABLE_CALLBACK_TYPES: Final = frozenset({0, 1, 5, 6})
MENTION_SEPARATOR: Final = " "  # real WeCom text often has U+2005 here; clients must accept both
BINDING_TEST_PAYLOAD: Final[dict[str, Any]] = {  # sample 03: what the cloud POSTs when a URL is bound
    "spoken": "您好,欢迎使用WorkTool~",
    "rawSpoken": "@小明 您好,欢迎使用WorkTool~",
    "receivedName": "WorkTool",
    "groupName": "WorkTool",
    "groupRemark": "小明参与的WorkTool",
    "roomType": 1,
    "atMe": "true",
    "textType": 1,
    "fileBase64": "",
}


class SnowflakeIds:
    """19-digit, time-ordered, unique message ids like the cloud's (timestamp | worker | sequence)."""

    def __init__(self, worker: int = 1) -> None:
        self._worker = worker & 0x3FF
        self._last_ms = 0
        self._sequence = 0

    def next(self, now_ms: int) -> str:
        now_ms = max(now_ms, self._last_ms)
        if now_ms == self._last_ms:
            self._sequence = (self._sequence + 1) & 0xFFF
            if self._sequence == 0:  # 4096 ids in one millisecond: borrow the next one
                now_ms += 1
        else:
            self._sequence = 0
        self._last_ms = now_ms
        return str(((now_ms - SNOWFLAKE_EPOCH_MS) << 22) | (self._worker << 12) | self._sequence)


def envelope(data: Any = None, *, code: int = OK_CODE, message: str = OK_MESSAGE) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def titles_of(command: Mapping[str, Any]) -> list[str]:
    """The targets a command names: titleList, else groupName, else friend.name."""
    titles = command.get("titleList")
    if isinstance(titles, list):
        return [str(t) for t in titles]
    if isinstance(command.get("groupName"), str):
        return [command["groupName"]]
    friend = command.get("friend")
    if isinstance(friend, Mapping) and isinstance(friend.get("name"), str):
        return [friend["name"]]
    return []


def split_targets(titles: Sequence[str], mode: Mode) -> tuple[list[str], list[str]]:
    """(successList, failList). A partial failure fails every second target (as in the doc example, sample 50);
    with one target the one target fails."""
    if mode == "failed":
        return [], list(titles)
    if mode == "partial":
        if len(titles) <= 1:
            return [], list(titles)
        return list(titles[0::2]), list(titles[1::2])
    return list(titles), []


def raw_msg(command: Mapping[str, Any], message_id: str) -> str:
    """The executed command as the cloud echoes it: with messageId, apiSend and textType, keys sorted."""
    executed = {"textType": 0, **command, "messageId": message_id, "apiSend": 1}
    return json.dumps(executed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def result_body(
    *,
    message_id: str,
    command: Mapping[str, Any],
    error_code: int,
    error_reason: str,
    run_time_ms: int,
    time_cost_s: float,
    success_list: Sequence[str],
    fail_list: Sequence[str],
) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "errorCode": error_code,
        "errorReason": error_reason,
        "runTime": run_time_ms,
        "timeCost": time_cost_s,
        "type": command.get("type"),
        "rawMsg": raw_msg(command, message_id),
        "successList": list(success_list),
        "failList": list(fail_list),
    }


def poll_item(
    *,
    robot_id: str,
    message_id: str,
    command: Mapping[str, Any],
    error_code: int,
    error_reason: str,
    run_time_ms: int,
    time_cost_s: float,
    success_list: Sequence[str],
    fail_list: Sequence[str],
    tz: ZoneInfo,
) -> dict[str, Any]:
    """One rawMsg/list row: local time without zone, lists as JSON strings, rawSuccess 0 = success."""
    run_time = datetime.fromtimestamp(run_time_ms / 1000, tz).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "rawMsg": raw_msg(command, message_id),
        "rawSuccess": 0 if error_code == 0 else 1,
        "errorReason": error_reason,
        "runTime": run_time,
        "apiSend": 1,
        "robotId": robot_id,
        "type": command.get("type"),
        "messageId": message_id,
        "successList": json.dumps(list(success_list), ensure_ascii=False),
        "failList": json.dumps(list(fail_list), ensure_ascii=False),
        "timeCost": time_cost_s,
    }


def poll_data(rows: list[dict[str, Any]], *, page: int, size: int, total: int, shape: RawMsgShape) -> Any:
    """rawMsg/list `data`: the page's rows as a plain list, or as a page object saying how many pages there are."""
    if shape == "list":
        return rows
    return {"list": rows, "total": total, "totalPage": -(-total // size), "page": page, "size": size}


def status_body(*, shape: StatusShape, robot_id: str, name: str, online: bool, now_ms: int) -> dict[str, Any]:
    """An online (type 5) / offline (type 6) callback. Undocumented: a JSON object, the WeCom group-robot webhook
    text the docs suggest binding (the body then says nothing machine-readable), or an empty object."""
    if shape == "empty":
        return {}
    if shape == "webhook":
        return {"msgtype": "text", "text": {"content": f"机器人{name}({robot_id})已{'上线' if online else '下线'}"}}
    return {
        "type": 5 if online else 6,
        "robotId": robot_id,
        "status": "online" if online else "offline",
        "time": now_ms,
    }


def message_body(
    *,
    spoken: str,
    raw_spoken: str,
    sender: str,
    group: Group | None,
    at_me: bool,
    text_type: int = 1,
    message_id: str | None = None,
    at_me_as_string: bool = False,
) -> dict[str, Any]:
    """A message callback like samples 01/05/06: private chats have roomType 2 and an empty groupName."""
    body: dict[str, Any] = {
        "spoken": spoken,
        "rawSpoken": raw_spoken,
        "receivedName": sender,
        "groupName": group.name if group is not None else "",
    }
    if group is not None and group.remark:
        body["groupRemark"] = group.remark
    body["roomType"] = group.room_type if group is not None else 2
    body["atMe"] = ("true" if at_me else "false") if at_me_as_string else at_me
    body["textType"] = text_type
    if message_id is not None:
        body["messageId"] = message_id
    return body


def as_form(body: Mapping[str, Any]) -> dict[str, str]:
    """Form mode: every value is a string (`roomType` "1", `atMe` "true")."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in body.items()}


def mention(name: str, text: str) -> str:
    return f"@{name}{MENTION_SEPARATOR}{text}"
