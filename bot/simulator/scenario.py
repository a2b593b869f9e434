"""A simulator scenario: robots, the groups they sit in, how they answer commands, and a message timeline.

Loaded from YAML with errors that name the file, line and field (`scripts/scenarios/*.yaml`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.rules.loading import RuleFileError, _line_of, load_rule_file

Mode = Literal["on_time", "late", "failed", "partial", "never"]
RawMsgShape = Literal["list", "object"]
StatusShape = Literal["json", "webhook", "empty"]
Role = Literal["user", "staff", "operator", "manager"]

DEFAULT_DELAY_S: Final[dict[str, float]] = {"on_time": 1.0, "late": 90.0, "failed": 1.0, "partial": 1.0, "never": 1.0}
DEFAULT_ERROR_CODE: Final[dict[str, int]] = {"failed": 201101, "partial": 201102}
# Reasons worded like the WorkTool error table (protocol §3.3).
ERROR_REASONS: Final[dict[int, str]] = {
    101011: "数据格式错误",
    101012: "非法操作",
    101013: "无权限",
    101014: "重复指令",
    201101: "未找到聊天窗口",
    201102: "发送失败",
    201103: "未找到按钮",
    201104: "未找到目标",
    201107: "文件下载异常",
}


class ScenarioError(RuleFileError):
    """A scenario file is unreadable or invalid; `str()` says file:line: field: problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResultBehaviour(_Model):
    """How a robot answers a command. `never` executes it but the result callback is lost."""

    mode: Mode = "on_time"
    delay_s: float | None = Field(default=None, ge=0)
    error_code: int | None = None
    error_reason: str | None = None
    visible_in_poll: bool = True  # whether the executed command shows in rawMsg/list

    @property
    def effective_delay_s(self) -> float:
        return self.delay_s if self.delay_s is not None else DEFAULT_DELAY_S[self.mode]

    @property
    def effective_error_code(self) -> int:
        if self.mode not in DEFAULT_ERROR_CODE:
            return 0
        return self.error_code if self.error_code is not None else DEFAULT_ERROR_CODE[self.mode]

    @property
    def effective_error_reason(self) -> str:
        code = self.effective_error_code
        if code == 0:
            return ""
        return self.error_reason if self.error_reason is not None else ERROR_REASONS.get(code, "执行失败")


class Override(ResultBehaviour):
    """A per-command behaviour: applies to commands whose receivedContent contains `match` (commands without
    text are matched against their JSON). The most recently added matching override wins."""

    mode: Mode
    match: str = Field(min_length=1)
    robot: str | None = None  # only commands sent to this robot id
    times: int | None = Field(default=None, ge=1)  # applies to this many commands, then is dropped


class CloudBehaviour(_Model):
    """Shapes of the cloud's answers and callbacks where the real service is known to vary (protocol §3.4, §4)."""

    # rawMsg/list data: a plain list (docs' sample) or a page object {list, total, totalPage, page, size}
    raw_msg_shape: RawMsgShape = "list"
    raw_msg_max_size: int | None = Field(default=None, ge=1)  # the server caps `size` (forces paging)
    # online/offline callbacks: {"type": 5|6, robotId, status, time}, a WeCom group-robot webhook text, or {}
    status_shape: StatusShape = "json"


class Robot(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    online: bool = True
    reply_all: Literal[-1, 0, 1] = 1  # robotInfo/update replyAll: -1 no callback, 0 private + @me only, 1 all
    result: ResultBehaviour = ResultBehaviour()


class Member(_Model):
    name: str = Field(min_length=1)
    role: Role = "user"


class Group(_Model):
    name: str = Field(min_length=1)
    remark: str | None = None
    room_type: int = Field(default=1, ge=0, le=99)
    robots: list[str] = Field(min_length=1)
    members: list[Member] = []


class ScriptedMessage(_Model):
    """One message of the timeline, posted as a message callback by each robot that sees it."""

    after_s: float = Field(default=0.0, ge=0)  # delay after the previous message
    group: str | None = None
    private: str | None = None  # the contact's name: a private chat with the first target robot
    sender: str | None = Field(default=None, alias="from", min_length=1)
    text: str
    text_type: int = 1
    at_me: bool = False  # @-mentions the first target robot: its rawSpoken starts with "@<robot name> "
    to_robots: list[str] | None = Field(default=None, min_length=1)
    duplicate: int = Field(default=0, ge=0, le=20)  # extra identical re-deliveries by the same robot
    duplicate_after_s: float = Field(default=1.0, ge=0)
    form: bool = False  # application/x-www-form-urlencoded, every value a string
    at_me_as_string: bool = False  # atMe as "true"/"false", as WorkTool really does
    with_message_id: bool = True

    @model_validator(mode="after")
    def _one_conversation(self) -> ScriptedMessage:
        if (self.group is None) == (self.private is None):
            raise ValueError("give exactly one of `group` and `private`")
        if self.group is not None and self.sender is None:
            raise ValueError("a group message needs `from` (the sender's name)")
        return self

    @property
    def sender_name(self) -> str:
        return self.sender or self.private or ""


class Timeline(_Model):
    messages: list[ScriptedMessage] = []


class Scenario(_Model):
    robots: list[Robot] = []
    groups: list[Group] = []
    messages: list[ScriptedMessage] = []
    overrides: list[Override] = []
    echo: bool = True  # a robot's text into a group is called back by the group's other robots
    cloud: CloudBehaviour = CloudBehaviour()

    def robot(self, robot_id: str) -> Robot | None:
        return next((r for r in self.robots if r.id == robot_id), None)

    def group(self, name: str) -> Group | None:
        """The group called `name` or remarked `name` (commands address groups by remark when one is set)."""
        return next((g for g in self.groups if name in (g.name, g.remark)), None)


Problem = tuple[tuple[int | str, ...], str]


def check_references(scenario: Scenario) -> list[Problem]:
    """Cross-references pydantic cannot see: unknown robot ids and groups, duplicates."""
    problems: list[Problem] = []
    robot_ids = [r.id for r in scenario.robots]
    problems += [(("robots", i, "id"), f"robot id {rid!r} is listed twice") for i, rid in _repeats(robot_ids)]
    problems += [
        (("groups", i, "name"), f"group {name!r} is listed twice")
        for i, name in _repeats(g.name for g in scenario.groups)
    ]
    for gi, group in enumerate(scenario.groups):
        for ri, rid in enumerate(group.robots):
            if rid not in robot_ids:
                problems.append((("groups", gi, "robots", ri), f"unknown robot {rid!r}; robots are {robot_ids}"))
    problems += check_timeline(scenario, scenario.messages, ("messages",))
    for oi, override in enumerate(scenario.overrides):
        if override.robot is not None and override.robot not in robot_ids:
            problems.append((("overrides", oi, "robot"), f"unknown robot {override.robot!r}"))
    return problems


def check_timeline(
    scenario: Scenario, messages: Sequence[ScriptedMessage], prefix: tuple[int | str, ...]
) -> list[Problem]:
    problems: list[Problem] = []
    robot_ids = [r.id for r in scenario.robots]
    group_names = [g.name for g in scenario.groups]
    for mi, message in enumerate(messages):
        loc: tuple[int | str, ...] = (*prefix, mi)
        group = scenario.group(message.group) if message.group is not None else None
        if message.group is not None and group is None:
            problems.append(((*loc, "group"), f"unknown group {message.group!r}; groups are {group_names}"))
        if message.private is not None and not robot_ids:
            problems.append(((*loc, "private"), "a private chat needs at least one robot"))
        for ti, rid in enumerate(message.to_robots or []):
            if rid not in robot_ids:
                problems.append(((*loc, "to_robots", ti), f"unknown robot {rid!r}; robots are {robot_ids}"))
            elif group is not None and rid not in group.robots:
                problems.append(((*loc, "to_robots", ti), f"robot {rid!r} is not in group {group.name!r}"))
    return problems


def _repeats(values: Iterable[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    repeats = []
    for index, value in enumerate(values):
        if value in seen:
            repeats.append((index, value))
        seen.add(value)
    return repeats


def load_scenario(path: Path) -> Scenario:
    try:
        scenario = load_rule_file(path, Scenario)
    except RuleFileError as exc:
        raise ScenarioError(str(exc)) from exc
    problems = check_references(scenario)
    if problems:
        node = yaml.compose(path.read_text(encoding="utf-8"))
        lines = [f"{path}:{_line_of(node, loc) or 1}: {'.'.join(map(str, loc))}: {msg}" for loc, msg in problems]
        raise ScenarioError("\n".join(lines))
    return scenario
