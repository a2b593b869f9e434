from __future__ import annotations

from pathlib import Path

import pytest

from bot.rules.shift import Shift
from bot.settings import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_loads_with_defaults() -> None:
    settings = load_settings(REPO / "config.yaml", environ={})
    assert settings.server.port == 8080
    assert settings.database.url.startswith("sqlite://")
    assert [r.id for r in settings.worktool.robots] == ["wt-robot-1", "wt-robot-2"]
    assert settings.worktool.callback_token is None


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.yaml", environ={})
    assert settings.redis.url == "redis://127.0.0.1:6379/0"


def test_env_overrides_scalars_and_json(tmp_path: Path) -> None:
    env = {
        "HUB__SERVER__PORT": "9001",
        "HUB__WORKTOOL__ROBOTS": '[{"id": "r1", "name": "机器人1", "roles": ["listen"]}]',
        "HUB__WORKTOOL__CALLBACK_TOKEN": "s3cret-token",
        "HUB__API__TOKENS": '[{"token": "0123456789abcdef0123", "role": "admin", "name": "ops"}]',
        "OTHER": "ignored",
    }
    settings = load_settings(tmp_path / "absent.yaml", environ=env)
    assert settings.server.port == 9001
    assert settings.worktool.robots[0].roles == ("listen",)
    assert settings.worktool.callback_token is not None
    assert settings.worktool.callback_token.get_secret_value() == "s3cret-token"
    assert settings.api.tokens[0].role == "admin"


@pytest.mark.parametrize(
    ("yaml_text", "env", "expected"),
    [
        ("server:\n  prot: 1\n", {}, "server.prot: Extra inputs are not permitted"),
        ("server:\n  port: 70000\n", {}, "server.port: Input should be less than or equal to 65535"),
        ("", {"HUB__SERVER__PORT": "abc"}, "server.port: Input should be a valid integer"),
        ("", {"HUB__SERVER__PORT": "abc"}, "(from env HUB__SERVER__PORT)"),
        ("", {"HUB__WORKTOOL__ROBOTS": "[{bad json"}, "env HUB__WORKTOOL__ROBOTS: invalid JSON"),
        ("database:\n  url: mysql://x\n", {}, "database.url: Value error, must start with sqlite://"),
        ("worktool:\n  callback_token: abc\n", {}, "worktool.callback_token is a secret"),
        ("api:\n  tokens: []\n", {}, "set it in env HUB__API__TOKENS"),
        ("server: [1, 2\n", {}, "not valid YAML"),
        ("- a\n- b\n", {}, "the top level must be a mapping"),
        ("worktool:\n  robots:\n    - {id: a, name: x}\n    - {id: a, name: y}\n", {}, "robot id 'a' is listed twice"),
        ("worktool:\n  robots:\n    - {id: a, name: x, shift: {hours: '9-5'}}\n", {}, "must look like"),
        ("worktool:\n  robots:\n    - {id: a, name: x, roles: [boss]}\n", {}, "worktool.robots.0.roles.0"),
        ("alerts:\n  wecom:\n    secret: abc\n", {}, "set it in env HUB__ALERTS__WECOM__SECRET"),
        ("alerts:\n  aliyun:\n    access_key_secret: x\n", {}, "alerts.aliyun.access_key_secret is a secret"),
        ("", {"HUB__ALERTS__WECOM__CALLBACK_AES_KEY": "short"}, "alerts.wecom.callback_aes_key: Value error"),
        ("alerts:\n  phone_provider: fax\n", {}, "alerts.phone_provider"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, yaml_text: str, env: dict[str, str], expected: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=env)
    assert expected in str(info.value)


def test_shift_bounds() -> None:
    assert Shift(hours="09:30-21:00").bounds()[0].hour == 9
    assert Shift(hours="00:00-24:00").bounds()[1] is None
    with pytest.raises(ValueError, match="not a valid time range"):
        Shift(hours="25:00-26:00")
    with pytest.raises(ValueError, match="unknown day"):
        Shift(days=("mon", "funday"))
