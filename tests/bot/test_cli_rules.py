"""`hub rules check` and `hub rules replay`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.cli import main
from bot.clock import FrozenClock
from bot.keys import DIRECTORY
from bot.understanding.engine import MessageInput
from bot.understanding.replay import replay
from bot.understanding.ruleset import load_ruleset
from models.messages import InboundMessage
from tests.bot.api.test_routes import process_all, say
from tests.bot.understanding.conftest import MESSAGE_TYPES, write_rules
from tests.conftest import REPO


def test_check_passes_the_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(REPO / "rules")]) == 0
    out = capsys.readouterr().out
    assert "OK, version" in out
    assert "examples pass" in out


def test_check_fails_with_the_place_of_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_rules(tmp_path / "rules", message_types_yaml=MESSAGE_TYPES.replace("weight: 0.7}", "weight: -1}"))
    assert main(["rules", "check", str(directory)]) == 2
    err = capsys.readouterr().err
    assert f"{directory}/message_types.yaml:7: types.0.rules.0.weight" in err


async def test_replay_shows_what_a_new_rule_set_would_change(
    tmp_path: Path, client: TestClient[Any, Any], clock: FrozenClock
) -> None:
    for text in ("大家早上好", "二维码过期了", "中午好呀"):
        await say(client, text)
        clock.advance(timedelta(seconds=1))
    await process_all(client)
    # What the messages were processed with is whatever the shipped rules say; replay a small set instead.
    old = write_rules(tmp_path / "old")
    new = write_rules(
        tmp_path / "new", message_types_yaml=MESSAGE_TYPES.replace("早上好, 晚上好", "早上好, 晚上好, 中午好")
    )
    await InboundMessage.all().update(type=None)
    base = await replay(load_ruleset(old), client.app[DIRECTORY], clock.now() - timedelta(hours=1))
    assert base.messages == 3
    assert base.changed_types == 3  # every stored type was blanked
    for row in await InboundMessage.all():
        found, verdict = load_ruleset(old).understand(MessageInput(row.text, "user"))
        await InboundMessage.filter(id=row.id).update(type=found.type, intervention_case=verdict.case)
    report = await replay(load_ruleset(new), client.app[DIRECTORY], clock.now() - timedelta(hours=1))
    assert (report.messages, report.changed_types) == (3, 1)
    assert dict(report.type_changes) == {("chat_other", "chat_daily"): 1}
    assert "中午好呀" in report.samples[0]
