"""Secrets from files: `HUB__…__FILE=/path` reads the file (stripped) as `HUB__…` (bot/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_a_file_variable_sets_the_setting_without_the_suffix(tmp_path: Path) -> None:
    token = tmp_path / "callback_token"
    token.write_text("  file-token-0123456789\n", encoding="utf-8")
    tokens = tmp_path / "api_tokens"
    tokens.write_text('[{"token": "0123456789abcdef0123", "role": "admin", "name": "ops"}]\n', encoding="utf-8")
    env = {"HUB__WORKTOOL__CALLBACK_TOKEN__FILE": str(token), "HUB__API__TOKENS__FILE": str(tokens)}
    settings = load_settings(REPO / "config.yaml", environ=env)
    assert settings.worktool.callback_token is not None
    assert settings.worktool.callback_token.get_secret_value() == "file-token-0123456789"
    assert [(t.role, t.name, t.token.get_secret_value()) for t in settings.api.tokens] == [
        ("admin", "ops", "0123456789abcdef0123")
    ]


def test_any_setting_can_come_from_a_file(tmp_path: Path) -> None:
    port = tmp_path / "port"
    port.write_text("9123\n", encoding="utf-8")
    assert load_settings(REPO / "config.yaml", environ={"HUB__SERVER__PORT__FILE": str(port)}).server.port == 9123


def test_an_unreadable_file_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as err:
        load_settings(REPO / "config.yaml", environ={"HUB__WORKTOOL__CALLBACK_TOKEN__FILE": str(missing)})
    assert (
        str(err.value) == f"env HUB__WORKTOOL__CALLBACK_TOKEN__FILE: cannot read '{missing}': No such file or directory"
    )
    with pytest.raises(ConfigError, match=r"^env HUB__LLM__API_KEY__FILE: cannot read .*Is a directory"):
        load_settings(REPO / "config.yaml", environ={"HUB__LLM__API_KEY__FILE": str(tmp_path)})


def test_a_variable_and_its_file_together_are_refused(tmp_path: Path) -> None:
    token = tmp_path / "t"
    token.write_text("from-file-0123456789", encoding="utf-8")
    env = {"HUB__WORKTOOL__CALLBACK_TOKEN": "from-env-0123456789", "HUB__WORKTOOL__CALLBACK_TOKEN__FILE": str(token)}
    with pytest.raises(ConfigError, match="both set"):
        load_settings(REPO / "config.yaml", environ=env)


def test_other_variables_ending_in_file_are_left_alone(tmp_path: Path) -> None:
    env = {"CREDENTIALS_FILE": "/nonexistent", "XHUB__SERVER__PORT__FILE": "/nonexistent"}
    assert load_settings(REPO / "config.yaml", environ=env).server.port == 8080
