"""Secrets for a local run: when env sets none, generate them once under `data/secrets/` and reuse them.

Production sets HUB__WORKTOOL__CALLBACK_TOKEN, HUB__API__TOKENS and HUB__CONSOLE__SESSION_SECRET; this only
keeps `make run` working on a fresh machine, with stable tokens across restarts (a robot's bound callback URL
keeps working, console logins survive a restart).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import structlog
from pydantic import SecretStr

from bot.settings import ApiToken, Settings

log = structlog.get_logger(__name__)


def _read_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def with_dev_secrets(settings: Settings, *, announce: bool = True) -> Settings:
    """`settings` with generated local secrets where env set none; `announce` says so at WARNING (else
    DEBUG: a supervised child whose supervisor said it already)."""
    say = log.warning if announce else log.debug
    secrets_dir = Path(settings.data_dir) / "secrets"
    worktool, api = settings.worktool, settings.api
    if worktool.callback_token is None:
        path = secrets_dir / "callback_token"
        worktool = worktool.model_copy(update={"callback_token": SecretStr(_read_or_create(path))})
        say("HUB__WORKTOOL__CALLBACK_TOKEN not set; using a generated local token", file=str(path))
    if not api.tokens:
        path = secrets_dir / "admin_api_token"
        token = ApiToken(token=SecretStr(_read_or_create(path)), role="admin", name="local-admin")
        api = api.model_copy(update={"tokens": (token,)})
        say("HUB__API__TOKENS not set; using a generated local admin token", file=str(path))
    console = settings.console
    if console.session_secret is None:  # the console's cookies: stable across restarts and processes
        path = secrets_dir / "session_secret"
        console = console.model_copy(update={"session_secret": SecretStr(_read_or_create(path))})
        say("HUB__CONSOLE__SESSION_SECRET not set; using a generated local secret", file=str(path))
    return settings.model_copy(update={"worktool": worktool, "api": api, "console": console})
