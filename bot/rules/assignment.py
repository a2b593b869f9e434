"""`rules/assignment.yaml`: after-sales task types (detected from the message), how tasks are assigned,
and how long we wait for the user. Every key has a default, so a rules directory without the file works."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import Field, field_validator

from bot import limits
from bot.rules.loading import load_rule_file
from bot.rules.message_types import _Strict

TaskPriority = Literal["low", "normal", "high", "urgent"]


class TaskType(_Strict):
    type: str = Field(min_length=1, max_length=limits.KIND_CHARS)
    skill: str = Field(
        min_length=1, max_length=limits.KIND_CHARS, description="the skill in people.yaml that handles it"
    )
    phrases: tuple[str, ...] = Field(min_length=1, description="case-sensitive substrings; the first type wins")
    priority: TaskPriority = "normal"


DEFAULT_TYPES: Final = (
    TaskType(type="人脸", skill="人脸", phrases=("人脸", "刷脸", "活体")),
    TaskType(type="验证码", skill="验证码", phrases=("验证码",)),
    TaskType(type="封号/限流", skill="封号", phrases=("封号", "封了", "限流", "违规", "封禁", "禁言"), priority="high"),
    TaskType(type="认证", skill="认证", phrases=("认证", "实名", "蓝V", "蓝v")),
    TaskType(type="绑定", skill="绑定", phrases=("绑定", "解绑", "授权")),
    TaskType(type="登录", skill="登录", phrases=("登录", "登陆", "登不上", "掉线", "下线", "被踢", "密码")),
    TaskType(type="扫码", skill="扫码", phrases=("二维码", "扫码", "码过期", "码失效", "扫不", "重新扫", "发个码")),
)


class Assignment(_Strict):
    reassign_untouched_minutes: float = Field(default=60, gt=0)  # no staff follow-up by then → someone else
    reassign_off_shift: bool = True  # the assignee's shift ended with the task still open → someone else
    mention_assignee: bool = True
    mention_user: bool = False  # also @ the user in the assignment message (starts response monitoring)
    # {assignee} {user} {type} {task_id} {text}; posted in the task's conversation by an after-sales robot.
    message: str = "@{assignee} 麻烦跟进一下 {user} 的{type}问题（任务 #{task_id}）"
    overdue_hours: float = Field(default=24, gt=0)  # open longer than this → alert task_overdue


class Response(_Strict):
    window_minutes: float = Field(default=10, gt=0)  # after an @ about the task, wait this long for the user
    reminder: str = "@{user} 您好，{type}的问题还需要您配合一下，看到请回复一下哦"
    high_within_minutes: float = Field(default=5, ge=0)  # answered this fast, without a reminder: high


class AssignmentFile(_Strict):
    task_types: tuple[TaskType, ...] = DEFAULT_TYPES
    default_type: str = Field(default="其他", min_length=1, max_length=limits.KIND_CHARS)
    assignment: Assignment = Assignment()
    response: Response = Response()

    @field_validator("task_types")
    @classmethod
    def _unique(cls, value: tuple[TaskType, ...]) -> tuple[TaskType, ...]:
        seen: set[str] = set()
        for task_type in value:
            if task_type.type in seen:
                raise ValueError(f"task type {task_type.type!r} is listed twice")
            seen.add(task_type.type)
        return value

    def detect(self, text: str) -> TaskType | None:
        return next((t for t in self.task_types if any(p in text for p in t.phrases)), None)


def load_assignment(path: Path) -> AssignmentFile:
    return load_rule_file(path, AssignmentFile) if path.exists() else AssignmentFile()
