"""Typed deployment settings: `config.yaml` validated by pydantic, overridden by `HUB__…` env vars.

Secrets (the callback token, API tokens, provider keys) may only come from the environment; a secret
written into `config.yaml` is a start-up error, so it never lands in git.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

from bot import limits
from bot.rules.shift import Shift

ENV_PREFIX: Final = "HUB__"
DEFAULT_CONFIG_PATH: Final = Path("config.yaml")

RobotRole = Literal["reply", "alert", "after_sales", "listen"]
ApiRole = Literal["admin", "manager", "staff"]

# Dotted paths that hold secrets; they are accepted from env only.
SECRET_PATHS: Final = frozenset(
    {
        ("worktool", "callback_token"),
        ("api", "tokens"),
        ("llm", "api_key"),
        ("alerts", "wecom", "secret"),
        ("alerts", "wecom", "callback_token"),
        ("alerts", "wecom", "callback_aes_key"),
        ("alerts", "webhook", "key"),
        ("alerts", "aliyun", "access_key_secret"),
        ("alerts", "tencent", "secret_key"),
        ("console", "session_secret"),
    }
)


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and what is wrong."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    public_url: str | None = None


class DatabaseSettings(_Section):
    url: str = "sqlite://data/hub.sqlite3"

    @field_validator("url")
    @classmethod
    def _check_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgres://", "asyncpg://", "postgresql://")):
            raise ValueError("must start with sqlite://, postgres:// or asyncpg://")
        return value


class RedisSettings(_Section):
    url: str = "redis://127.0.0.1:6379/0"
    embedded: bool = True
    data_dir: str = "data/redis"


class RobotSettings(_Section):
    id: str = Field(min_length=1, max_length=limits.ROBOT_ID_CHARS, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1, max_length=limits.NAME_CHARS)
    roles: tuple[RobotRole, ...] = ("reply", "alert", "after_sales", "listen")
    shift: Shift = Shift()


class RateLimitSettings(_Section):
    """WorkTool allows 60 API requests per minute per source IP, for all endpoints together."""

    requests: int = Field(default=60, ge=1)
    window_s: float = Field(default=60.0, gt=0)


class PacingSettings(_Section):
    """Risk control: how fast one robot may send (WeCom flags accounts that type like machines)."""

    min_gap_s: float = Field(default=3.0, ge=0)
    jitter_s: float = Field(default=2.0, ge=0)
    per_minute: int = Field(default=12, ge=1)
    group_replies_per_minute: int = Field(default=6, ge=1)
    max_text_chars: int = Field(default=800, ge=20, le=4000)
    max_queued_per_robot: int = Field(default=500, ge=1)
    retry_after_s: float = Field(default=5.0, gt=0)  # after a request that provably did not reach WorkTool
    max_send_attempts: int = Field(default=5, ge=1)


class SimulatorSettings(_Section):
    """The local WorkTool simulator `hub run` starts when `worktool.api_base` is null."""

    port: int = Field(default=8090, ge=1, le=65535)
    scenario: str | None = "scripts/scenarios/demo.yaml"
    play: bool = True
    time_scale: float = Field(default=1.0, gt=0)


class WorkToolSettings(_Section):
    api_base: str | None = None
    callback_token: SecretStr | None = None
    robots: tuple[RobotSettings, ...] = ()
    request_timeout_s: float = Field(default=10.0, gt=0, le=60)
    result_timeout_s: float = Field(default=60.0, gt=0)
    online_poll_s: float = Field(default=120.0, ge=0)  # 0 = off; every poll costs one request of the budget
    rate_limit: RateLimitSettings = RateLimitSettings()
    pacing: PacingSettings = PacingSettings()
    banned_phrases: tuple[str, ...] = (
        "我是AI",
        "我是机器人",
        "我是人工智能",
        "作为AI",
        "作为一个AI",
        "作为人工智能",
        "AI助手",
        "语言模型",
        "ChatGPT",
    )
    simulator: SimulatorSettings = SimulatorSettings()

    @field_validator("robots")
    @classmethod
    def _unique_ids(cls, value: tuple[RobotSettings, ...]) -> tuple[RobotSettings, ...]:
        seen: set[str] = set()
        for robot in value:
            if robot.id in seen:
                raise ValueError(f"robot id {robot.id!r} is listed twice")
            seen.add(robot.id)
        return value


class IngestSettings(_Section):
    dedup_window_s: float = Field(default=15.0, gt=0, le=600)
    message_id_horizon_s: float = Field(default=600.0, gt=0, le=86400)
    max_batch: int = Field(default=500, ge=1, le=5000)
    commit_retry_s: float = Field(default=1.5, ge=0, le=2.8)  # WorkTool drops callbacks after 3 s
    sweep_grace_s: float = Field(default=3.0, ge=0)
    # A longer spoken/rawSpoken (or unknown text field) is stored truncated, its length recorded.
    max_spoken_chars: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)


class ProcessingSettings(_Section):
    batch_size: int = Field(default=50, ge=1, le=1000)
    lock_ttl_s: float = Field(default=10.0, ge=0.5)
    max_jobs: int = Field(default=20, ge=1)
    poll_delay_s: float = Field(default=0.05, gt=0)


class RepliesSettings(_Section):
    """The bot's own replies (what it says is rules/replies.yaml)."""

    holding_window_s: float = Field(default=600, ge=0, description="one holding reply per user and item in this")


class ReadinessSettings(_Section):
    """When `/readyz` says the hub cannot do its job (503 with the reasons)."""

    worker_heartbeat_s: float = Field(default=5.0, gt=0, le=60)  # each worker records it is alive this often
    worker_stale_s: float = Field(default=20.0, gt=0)  # no worker heartbeat within this: not ready
    max_backlog_age_s: float = Field(default=120.0, gt=0)  # oldest pending message older than this: not ready

    @field_validator("worker_stale_s")
    @classmethod
    def _longer_than_a_beat(cls, value: float, info: ValidationInfo) -> float:
        beat = info.data.get("worker_heartbeat_s")
        if beat is not None and value <= beat:
            raise ValueError(f"must be longer than worker_heartbeat_s ({beat:g})")
        return value


class MetricsSettings(_Section):
    """`GET /metrics` for Prometheus (bot/api/metrics.py)."""

    enabled: bool = True
    protected: bool = True  # a bearer token of any API role (api.tokens); false: open to whoever reaches the port
    # hub run: where its processes write their metric files (wiped at start; PROMETHEUS_MULTIPROC_DIR wins);
    # None: <data_dir>/metrics
    multiproc_dir: str | None = None


class ApiToken(_Section):
    token: SecretStr = Field(min_length=16)
    role: ApiRole
    name: str = Field(min_length=1, max_length=limits.NAME_CHARS)


class ApiSettings(_Section):
    tokens: tuple[ApiToken, ...] = ()


class LlmSettings(_Section):
    """An OpenAI-compatible chat-completions endpoint (DeepSeek, Qwen, GLM, a local server), used only when
    the rules are not confident enough. Off by default: the service works fully without it."""

    enabled: bool = False
    base_url: str | None = None  # e.g. https://api.deepseek.com/v1
    model: str = Field(default="deepseek-chat", min_length=1, max_length=limits.LLM_MODEL_CHARS)
    api_key: SecretStr | None = None  # env only: HUB__LLM__API_KEY
    confidence_threshold: float = Field(default=0.6, ge=0, le=1)  # below this, the rules ask the LLM
    timeout_s: float = Field(default=8.0, gt=0, le=60)
    max_retries: int = Field(default=2, ge=0, le=5)
    daily_token_budget: int = Field(default=200_000, ge=0)  # prompt + completion tokens per day (business tz)
    circuit_failures: int = Field(default=5, ge=1)  # consecutive failures that open the circuit ...
    circuit_reset_s: float = Field(default=60.0, gt=0)  # ... for this long
    cache_ttl_s: float = Field(default=86_400.0, ge=0)
    price_per_1k_prompt: float = Field(default=0.001, ge=0)  # for the usage ledger's cost column
    price_per_1k_completion: float = Field(default=0.002, ge=0)


class WeComSettings(_Section):
    """A WeCom self-built app: agent messages to members (channel `wecom_app`) and the callback at
    /wecom/callback where members acknowledge alerts. Secrets via env only."""

    api_base: str = "https://qyapi.weixin.qq.com"
    corp_id: str | None = None
    agent_id: int | None = None
    secret: SecretStr | None = None  # env HUB__ALERTS__WECOM__SECRET
    callback_token: SecretStr | None = None  # env HUB__ALERTS__WECOM__CALLBACK_TOKEN
    callback_aes_key: SecretStr | None = None  # env HUB__ALERTS__WECOM__CALLBACK_AES_KEY (43 chars)
    # A signed callback whose timestamp is further than this from our clock is refused (a replay).
    callback_max_skew_s: int = Field(default=300, ge=1, le=86_400)
    per_member_per_minute: int = Field(default=30, ge=1)

    @field_validator("callback_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9+/]{43}", value.get_secret_value()):
            raise ValueError("must be the app's 43-character EncodingAESKey (letters and digits)")
        return value

    @property
    def configured(self) -> bool:
        return bool(self.corp_id and self.agent_id is not None and self.secret)


class WebhookSettings(_Section):
    """A WeCom group robot (channel `wecom_webhook`): markdown into one managers' group."""

    api_base: str = "https://qyapi.weixin.qq.com"
    key: SecretStr | None = None  # env HUB__ALERTS__WEBHOOK__KEY (the key= of the webhook URL)
    per_minute: int = Field(default=20, ge=1)


class AliyunSettings(_Section):
    """Alibaba Cloud SMS (dysmsapi SendSms) and voice (dyvmsapi SingleCallByTts), ACS3-HMAC-SHA256."""

    sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    voice_endpoint: str = "https://dyvmsapi.aliyuncs.com"
    access_key_id: str | None = None
    access_key_secret: SecretStr | None = None  # env HUB__ALERTS__ALIYUN__ACCESS_KEY_SECRET
    sms_sign_name: str | None = None
    sms_template_code: str | None = None  # template with ${title} ${level} ${alert_id}
    tts_code: str | None = None  # voice template with the same variables
    called_show_number: str | None = None


class TencentSettings(_Section):
    """Tencent Cloud SMS (SendSms 2021-01-11) and voice (SendTtsVoice 2020-09-02), TC3-HMAC-SHA256."""

    sms_endpoint: str = "https://sms.tencentcloudapi.com"
    voice_endpoint: str = "https://vms.tencentcloudapi.com"
    region: str = "ap-guangzhou"
    secret_id: str | None = None
    secret_key: SecretStr | None = None  # env HUB__ALERTS__TENCENT__SECRET_KEY
    sms_sdk_app_id: str | None = None
    sms_sign_name: str | None = None
    sms_template_id: str | None = None  # template parameters: title, level, alert id
    voice_sdk_app_id: str | None = None
    voice_template_id: str | None = None


class AlertSettings(_Section):
    """Where alert notifications go. The policy (levels, offsets, recipients) is in rules/alerts.yaml."""

    enabled: bool = True
    # A managers' WeCom group our alert robot is in (channel worktool_group).
    worktool_group: str | None = Field(default=None, max_length=limits.NAME_CHARS)
    phone_provider: Literal["aliyun", "tencent"] | None = "aliyun"
    sms_provider: Literal["aliyun", "tencent"] | None = "aliyun"
    voice_per_callee_per_minute: int = Field(default=1, ge=1)
    gather_s: float = Field(default=2.0, ge=0, le=60)  # alerts for one recipient within this go out together
    request_timeout_s: float = Field(default=10.0, gt=0, le=60)
    retry_after_s: float = Field(default=30.0, gt=0)  # a send the provider surely did not act on
    max_attempts: int = Field(default=3, ge=1)
    wecom: WeComSettings = WeComSettings()
    webhook: WebhookSettings = WebhookSettings()
    aliyun: AliyunSettings = AliyunSettings()
    tencent: TencentSettings = TencentSettings()


class ReportSettings(_Section):
    """The daily after-sales report: when it is made (business time zone) and where it goes."""

    daily_at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # for the previous day
    deliver_via: tuple[Literal["wecom_webhook", "worktool_group"], ...] = ("wecom_webhook", "worktool_group")
    retry_after_s: float = Field(default=300.0, gt=0)  # a failed delivery is tried again after this ...
    max_attempts: int = Field(default=3, ge=1)  # ... this often, then managers get an alert


class HealthSettings(_Section):
    """Robot health checks (the scoring itself is rules/health.yaml)."""

    every_s: int = Field(default=300, ge=10, le=3600)  # the worker scores every robot this often
    retention_days: float = Field(default=30, gt=0)  # older snapshots are deleted
    history: int = Field(default=48, ge=1, le=1000)  # snapshots GET /api/robots/{id}/health returns


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["console", "json"] = "console"
    timezone: str | None = None  # of the timestamps; None: the business `timezone`

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}; use a name like Asia/Shanghai or UTC") from None
        return value


class ConsoleSettings(_Section):
    """The web console's accounts and sessions (bot/accounts/): cookies, expiry, login throttling."""

    # env only: HUB__CONSOLE__SESSION_SECRET (or __FILE); any text of 32+ characters, the cookie key is derived
    # from it. Every web process must share it. A local run generates one under <data_dir>/secrets/.
    session_secret: SecretStr | None = Field(default=None, min_length=32)
    session_hours: float = Field(default=12, gt=0, le=24 * 31)  # a login lasts at most this long ...
    idle_minutes: float = Field(default=120, gt=0)  # ... and ends sooner after this long without a request
    min_password_chars: int = Field(default=10, ge=8, le=256)
    # Failed logins counted in Redis over `login_window_s` (shared by every web process): past either limit,
    # logins for that name / from that IP are refused until the oldest failure leaves the window.
    login_failures_per_name: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=20, ge=1)
    login_window_s: float = Field(default=900, gt=0)
    # Peers whose X-Forwarded-For is believed (the reverse proxy): the client's address for the per-IP count is
    # the right-most address there that is not one of these. Others' X-Forwarded-For is ignored.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    # argon2id parameters: "owasp" (t=2, 19 MiB, p=1; ~75 ms here), "rfc9106_low_memory" (t=3, 64 MiB, p=4;
    # ~450 ms). Hashes made with other parameters are re-hashed at the next login. "insecure_fast_for_tests"
    # exists for the test suite only: it makes hashes anyone can brute-force.
    password_hashing: Literal["owasp", "rfc9106_low_memory", "insecure_fast_for_tests"] = "owasp"  # noqa: S105


class Settings(_Section):
    timezone: str = "Asia/Shanghai"
    data_dir: str = "data"
    rules_dir: str = "rules"
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    worktool: WorkToolSettings = WorkToolSettings()
    ingest: IngestSettings = IngestSettings()
    processing: ProcessingSettings = ProcessingSettings()
    replies: RepliesSettings = RepliesSettings()
    readiness: ReadinessSettings = ReadinessSettings()
    metrics: MetricsSettings = MetricsSettings()
    api: ApiSettings = ApiSettings()
    llm: LlmSettings = LlmSettings()
    alerts: AlertSettings = AlertSettings()
    reports: ReportSettings = ReportSettings()
    health: HealthSettings = HealthSettings()
    console: ConsoleSettings = ConsoleSettings()
    logging: LoggingSettings = LoggingSettings()

    def robot(self, robot_id: str) -> RobotSettings | None:
        for robot in self.worktool.robots:
            if robot.id == robot_id:
                return robot
        return None


def _env_overrides(environ: Mapping[str, str]) -> dict[tuple[str, ...], Any]:
    overrides: dict[tuple[str, ...], Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if not all(path):
            raise ConfigError(f"env {name}: empty key segment (use HUB__SECTION__KEY)")
        value: Any = raw
        if raw[:1] in ("[", "{"):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"env {name}: invalid JSON ({exc.msg} at char {exc.pos})") from exc
        overrides[path] = value
    return overrides


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: Any, origin: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{origin}: {'.'.join(path)} goes through {part!r}, which is not a section")
        node = child
    node[path[-1]] = value


def _secret_in_file(data: Mapping[str, Any]) -> str | None:
    for path in sorted(SECRET_PATHS):
        node: Any = data
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and path[-1] in node:
            return ".".join(path)
    return None


def format_validation_error(exc: ValidationError, sources: Mapping[tuple[str, ...], str]) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        origin = next((src for path, src in sources.items() if loc[: len(path)] == path), None)
        where = ".".join(loc) or "(root)"
        suffix = f" (from {origin})" if origin else ""
        lines.append(f"{where}: {err['msg']}{suffix}")
    return "; ".join(lines)


FILE_SUFFIX: Final = "__FILE"


def _env_with_files(environ: Mapping[str, str]) -> Mapping[str, str]:
    """`HUB__X__FILE=/path` stands for `HUB__X=<the file's content, stripped>` (Docker secrets, systemd
    credentials). Setting both is refused; an unreadable file is a ConfigError naming the variable."""
    files = {name: raw for name, raw in environ.items() if name.startswith(ENV_PREFIX) and name.endswith(FILE_SUFFIX)}
    if not files:
        return environ
    env = {name: raw for name, raw in environ.items() if name not in files}
    for name, file_path in sorted(files.items()):
        target = name[: -len(FILE_SUFFIX)]
        if target in environ:
            raise ConfigError(f"env {name} and env {target} are both set; set one of them")
        try:
            env[target] = Path(file_path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"env {name}: cannot read {file_path!r}: {reason}") from exc
    return env


def load_settings(path: Path | None = DEFAULT_CONFIG_PATH, environ: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (may be missing: defaults), apply env overrides (`HUB__X__FILE` read as `HUB__X`), validate.
    Raises ConfigError."""
    env = _env_with_files(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = loaded or {}
        secret = _secret_in_file(data)
        if secret:
            env_name = ENV_PREFIX + "__".join(secret.upper().split("."))
            raise ConfigError(f"{path}: {secret} is a secret; set it in env {env_name}, not in the file")
    sources: dict[tuple[str, ...], str] = {}
    for key_path, value in _env_overrides(env).items():
        origin = "env " + ENV_PREFIX + "__".join(p.upper() for p in key_path)
        _set_path(data, key_path, value, origin)
        sources[key_path] = origin
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        where = f"{path}" if path is not None else "config"
        raise ConfigError(f"{where}: {format_validation_error(exc, sources)}") from exc
