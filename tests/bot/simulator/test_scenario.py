"""Scenario files: the shipped demo, and errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.rules.people import load_people
from bot.settings import load_settings
from bot.simulator import ScenarioError, load_scenario

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "scripts" / "scenarios" / "demo.yaml"


def test_demo_matches_the_config_and_the_staff_directory() -> None:
    scenario = load_scenario(DEMO)
    settings = load_settings(REPO / "config.yaml", environ={})
    assert [(r.id, r.name) for r in scenario.robots] == [(r.id, r.name) for r in settings.worktool.robots]
    people = {p.name: p.role for p in load_people(REPO / "rules" / "people.yaml").people}
    members = [m for g in scenario.groups for m in g.members]
    assert all(people[m.name] == m.role for m in members if m.role != "user")
    assert {"staff", "operator", "manager", "user"} <= {m.role for m in members}
    assert all(set(g.robots) == {"wt-robot-1", "wt-robot-2"} for g in scenario.groups)
    messages = scenario.messages
    assert 8 <= len(messages) <= 14
    assert any(m.duplicate for m in messages)
    assert any(m.form for m in messages)
    assert any(m.at_me_as_string for m in messages)
    assert any(m.private for m in messages)
    assert any(m.at_me and not m.at_me_as_string for m in messages)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


ROBOTS = "robots:\n  - {id: r1, name: 甲}\n"
GROUP = "groups:\n  - name: 群一\n    robots: [r1]\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ROBOTS + "  - {id: r2, name: 乙, result: {mode: sometimes}}\n", ":3: robots.1.result.mode: Input should be"),
        (ROBOTS + "  - {id: r2, name: 乙, colour: red}\n", ":3: robots.1.colour: Extra inputs are not permitted"),
        (ROBOTS + GROUP + "messages:\n  - {group: 群二, from: 甲, text: hi}\n", ":7: messages.0.group: unknown group"),
        (ROBOTS + "groups:\n  - name: 群一\n    robots: [r1, r9]\n", ":5: groups.0.robots.1: unknown robot 'r9'"),
        (ROBOTS + GROUP + "messages:\n  - {group: 群一, private: 乙, from: 甲, text: hi}\n", "messages.0: Value error"),
        (ROBOTS + GROUP + "messages:\n  - {group: 群一, text: hi}\n", "a group message needs `from`"),
        (ROBOTS + GROUP + "messages:\n  - {group: 群一, from: 甲, text: hi, after_s: -1}\n", "messages.0.after_s"),
        (ROBOTS + "  - {id: r1, name: 乙}\n", ":3: robots.1.id: robot id 'r1' is listed twice"),
        (ROBOTS + "overrides:\n  - {match: x}\n", ":4: overrides.0.mode: Field required"),
        ("robots: [\n", "invalid YAML"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")
