"""The pure builders: ids, target splitting, rawMsg, form bodies."""

from __future__ import annotations

import json

from bot.simulator.payloads import SnowflakeIds, as_form, raw_msg, split_targets, titles_of


def test_snowflake_ids_are_19_digits_unique_and_ordered() -> None:
    ids = SnowflakeIds()
    now_ms = 1_763_600_000_000  # 2025-11
    made = [ids.next(now_ms) for _ in range(5000)] + [ids.next(now_ms - 10)]  # a clock step back
    assert all(len(i) == 19 and i.isdigit() for i in made)
    assert len(set(made)) == len(made)
    assert [int(i) for i in made] == sorted(int(i) for i in made)


def test_split_targets() -> None:
    assert split_targets(["a", "b", "c", "d"], "partial") == (["a", "c"], ["b", "d"])
    assert split_targets(["a"], "partial") == ([], ["a"])
    assert split_targets(["a", "b"], "failed") == ([], ["a", "b"])
    assert split_targets(["a", "b"], "late") == (["a", "b"], [])


def test_titles_of_commands_without_a_title_list() -> None:
    assert titles_of({"type": 206, "groupName": "新群"}) == ["新群"]
    assert titles_of({"type": 234, "friend": {"name": "张三"}}) == ["张三"]
    assert titles_of({"type": 304}) == []


def test_raw_msg_echoes_the_command() -> None:
    raw = json.loads(raw_msg({"type": 203, "titleList": ["仑哥"], "receivedContent": "周期消息"}, "17"))
    assert raw == {
        "apiSend": 1,
        "messageId": "17",
        "receivedContent": "周期消息",
        "textType": 0,
        "titleList": ["仑哥"],
        "type": 203,
    }


def test_form_values_are_strings() -> None:
    assert as_form({"atMe": False, "roomType": 1, "spoken": "x"}) == {"atMe": "false", "roomType": "1", "spoken": "x"}
