"""`rules/health.yaml`: how a robot's health score is made (DESIGN §3.7).

Every component has a `weight`: the points a robot loses when the component is at its worst (the score
starts at 100 and is clamped to 0–100, so weights may add up to more than 100), and a ramp from `good`
(no points lost) to `bad` (all of them), linear in between; `good` may be above or below `bad`. A
component without enough data (too few commands, no usual traffic at that hour, nothing recorded) is
neutral: it costs nothing. Every key has a default, so a rules directory without the file works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bot.rules.loading import load_rule_file
from bot.rules.message_types import _Strict

HealthStatus = Literal["excellent", "good", "warning", "critical"]
# The placeholders each advice may use (bot/robots/health.py fills them).
ADVICE_KEYS = {
    "online": ("window", "offline_minutes"),
    "flaps": ("window", "flaps"),
    "success": ("window", "success_pct", "failed", "succeeded"),
    "unknown": ("window", "unknown", "finished"),
    "latency_avg": ("window", "avg_s", "p90_s"),
    "latency_p90": ("window", "avg_s", "p90_s"),
    "silence": ("window", "callbacks", "usual"),
    "budget": ("window", "hits"),
}


def check_advice(component: str, template: str) -> None:
    keys = ADVICE_KEYS[component]
    try:
        template.format(**dict.fromkeys(keys, 1))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"{component} advice {template!r}: bad placeholder {exc}; use {{{'}, {'.join(keys)}}}"
        ) from exc


class Ramp(_Strict):
    good: float  # at or beyond this (towards good): full marks
    bad: float  # at or beyond this (towards bad): no marks

    @model_validator(mode="after")
    def _distinct(self) -> Ramp:
        if self.good == self.bad:
            raise ValueError("good and bad must differ")
        return self

    def marks(self, value: float) -> float:
        """1.0 at `good` or better, 0.0 at `bad` or worse, linear in between."""
        return min(1.0, max(0.0, (value - self.bad) / (self.good - self.bad)))


class Online(_Strict):
    weight: float = Field(default=60, ge=0, le=100)
    unknown_marks: float = Field(default=0.8, ge=0, le=1)  # the online state was never reported
    advice: str = "机器人已离线{offline_minutes}分钟，请检查手机网络、电量和WorkTool是否在运行"
    advice_unknown: str = "还不知道机器人是否在线，请检查WorkTool的状态回调或在线查询"


class Flaps(_Strict):
    weight: float = Field(default=30, ge=0, le=100)
    ramp: Ramp = Ramp(good=0, bad=5)  # times it went offline within the window
    advice: str = "近{window}离线{flaps}次，请检查网络/电量"


class Success(_Strict):
    weight: float = Field(default=30, ge=0, le=100)
    ramp: Ramp = Ramp(good=0.95, bad=0.5)  # of the results that came back, the share that succeeded
    min_commands: int = Field(default=3, ge=1)  # fewer: neutral
    advice: str = "近{window}指令成功率{success_pct}%（失败{failed}条），请检查群名/好友名和手机端WorkTool"


class Unknown(_Strict):
    weight: float = Field(default=60, ge=0, le=100)
    ramp: Ramp = Ramp(good=0.05, bad=0.5)  # of the finished commands, the share whose result never came
    min_commands: int = Field(default=3, ge=1)
    advice: str = "近{window}{unknown}条指令无结果回调，请检查手机端WorkTool是否在前台运行"


class LatencyAvg(_Strict):
    weight: float = Field(default=10, ge=0, le=100)
    ramp: Ramp = Ramp(good=5, bad=30)  # seconds of WorkTool's timeCost
    min_commands: int = Field(default=3, ge=1)
    advice: str = "指令平均耗时{avg_s}秒，请降低发送频率"


class LatencyP90(_Strict):
    weight: float = Field(default=10, ge=0, le=100)
    ramp: Ramp = Ramp(good=15, bad=60)
    min_commands: int = Field(default=3, ge=1)
    advice: str = "一成指令耗时超过{p90_s}秒，请降低发送频率或检查手机性能"


class Silence(_Strict):
    weight: float = Field(default=25, ge=0, le=100)
    ramp: Ramp = Ramp(good=0.5, bad=0)  # callbacks in the window ÷ the usual number at that hour of day
    baseline_days: int = Field(default=7, ge=1, le=60)  # "usual": the mean over this many previous days
    min_usual: float = Field(default=5, gt=0)  # usually quieter than this at that hour: neutral
    advice: str = "近{window}只收到{callbacks}条消息回调（该时段通常约{usual}条），请检查回调地址和手机端WorkTool"


class Budget(_Strict):
    weight: float = Field(default=10, ge=0, le=100)
    ramp: Ramp = Ramp(good=0, bad=10)  # WorkTool rate-limit hits (429) within the window
    advice: str = "近{window}触发WorkTool限流{hits}次，请降低发送频率"


class Bands(_Strict):
    excellent: float = Field(default=90, ge=0, le=100)
    good: float = Field(default=75, ge=0, le=100)
    warning: float = Field(default=50, ge=0, le=100)  # below: critical

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.excellent >= self.good >= self.warning:
            raise ValueError("bands must satisfy excellent >= good >= warning")
        return self

    def status(self, score: float) -> HealthStatus:
        if score >= self.excellent:
            return "excellent"
        if score >= self.good:
            return "good"
        if score >= self.warning:
            return "warning"
        return "critical"


class HealthExample(_Strict):
    """A self-test: these observations must give this status (and score, if given)."""

    name: str = Field(min_length=1)
    online: bool | None = True
    offline_minutes: float = Field(default=0, ge=0)
    flaps: int = Field(default=0, ge=0)
    succeeded: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    unknown: int = Field(default=0, ge=0)
    time_costs: tuple[float, ...] = ()
    callbacks: int = Field(default=0, ge=0)
    usual: float | None = None
    rate_limit_hits: int | None = None
    expect: HealthStatus
    expect_score: int | None = Field(default=None, ge=0, le=100)


class HealthFile(_Strict):
    window_minutes: float = Field(default=60, gt=0, le=24 * 60)  # what "lately" means for every component
    unhealthy_after_minutes: float = Field(default=10, ge=0)  # critical this long → alert robot_unhealthy
    bands: Bands = Bands()
    online: Online = Online()
    flaps: Flaps = Flaps()
    success: Success = Success()
    unknown: Unknown = Unknown()
    latency_avg: LatencyAvg = LatencyAvg()
    latency_p90: LatencyP90 = LatencyP90()
    silence: Silence = Silence()
    budget: Budget = Budget()
    examples: tuple[HealthExample, ...] = ()

    @model_validator(mode="after")
    def _advice(self) -> HealthFile:
        for name in ADVICE_KEYS:
            part = getattr(self, name)
            check_advice(name, part.advice)
        check_advice("online", self.online.advice_unknown)
        return self


def load_health(path: Path) -> HealthFile:
    return load_rule_file(path, HealthFile) if path.exists() else HealthFile()
