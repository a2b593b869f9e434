from __future__ import annotations

from pathlib import Path

import pytest

from bot.rules.loading import RuleFileError
from bot.rules.message_types import load_message_types
from bot.rules.people import Directory, load_people

REPO = Path(__file__).resolve().parents[3]


def test_shipped_rule_files_load() -> None:
    people = load_people(REPO / "rules" / "people.yaml")
    types = load_message_types(REPO / "rules" / "message_types.yaml")
    assert len(types.types) == 15
    assert {t.category for t in types.types} == {"user", "staff", "operator"}
    directory = Directory.build(["小助手"], people)
    assert directory.role_of("小王") == "staff"
    assert directory.role_of(" 售后小王 ") == "staff"
    assert directory.role_of("阿杰") == "operator"
    assert directory.role_of("张经理") == "manager"
    assert directory.role_of("小助手") == "robot"
    assert directory.role_of("陌生人") == "user"


def test_error_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text("people:\n  - name: 甲\n    role: staff\n  - name: 乙\n    role: boss\n", encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_people(path)
    assert f"{path}:5: people.1.role: Input should be 'staff', 'operator' or 'manager'" in str(info.value)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text("people:\n  - name: 甲\n    role: staff\n    skils: [扫码]\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"people.yaml:4: people.0.skils: Extra inputs are not permitted"):
        load_people(path)


def test_bad_yaml_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "message_types.yaml"
    path.write_text("types:\n  - {code: a, name: b\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"message_types.yaml:3: invalid YAML"):
        load_message_types(path)


def test_an_alias_cannot_belong_to_two_people(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(
        "people:\n  - {name: 甲, role: staff, aliases: [小A]}\n  - {name: 乙, role: staff, aliases: [小A]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleFileError, match="'小A' belongs to both"):
        load_people(path)
