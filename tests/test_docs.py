"""The docs in the repository: links point to files that exist (a clone has nothing beside it), and every
setting the docs name as `HUB__…` exists in bot/settings.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
ENV = re.compile(r"HUB__[A-Z0-9_]*[A-Z0-9]")


def test_the_docs_folder_has_the_maintainer_pages() -> None:
    names = {page.name for page in PAGES}
    assert {"architecture.md", "worktool.md", "configuration.md", "rules.md", "operations.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_point_into_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(REPO), f"{page.name}: {target} leaves the repository"
        assert path.exists(), f"{page.name}: {target} does not exist"


def setting_exists(parts: list[str]) -> bool:
    model: type[BaseModel] = Settings
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return i == len(parts) - 1
    return True


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_env_variable_the_docs_name_is_a_setting(page: Path) -> None:
    unknown = []
    for name in set(ENV.findall(page.read_text(encoding="utf-8"))):
        parts = name.removeprefix("HUB__").removesuffix("__FILE").lower().split("__")
        if parts in (["section", "key"], ["x"]):  # the pattern itself, in prose
            continue
        if not setting_exists(parts):
            unknown.append(name)
    assert sorted(unknown) == []


def test_the_setting_check_can_fail() -> None:
    assert setting_exists(["server", "public_url"])
    assert not setting_exists(["server", "public_uri"])
    assert not setting_exists(["server", "port", "extra"])
