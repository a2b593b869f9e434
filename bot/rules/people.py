"""`rules/people.yaml`: the staff directory (staff, operators, managers) and sender-role resolution."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot import limits
from bot.rules.loading import load_rule_file
from bot.rules.shift import Shift

PersonRole = Literal["staff", "operator", "manager"]
SenderRole = Literal["robot", "staff", "operator", "manager", "user"]


class PersonRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=limits.NAME_CHARS, description="display name as shown in WeCom")
    aliases: tuple[Annotated[str, Field(max_length=limits.NAME_CHARS)], ...] = ()
    role: PersonRole
    skills: tuple[str, ...] = ()
    shift: Shift = Shift()
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9\-]{5,20}$")
    wecom_userid: str | None = Field(default=None, max_length=limits.WECOM_USERID_CHARS)
    quiet_hours: Shift | None = None  # no alert calls/SMS below the top level in these hours (alerts.yaml default)
    max_open_tasks: int = Field(default=20, ge=0, le=limits.INT32.max)
    active: bool = True


class PeopleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    people: tuple[PersonRule, ...] = ()

    @model_validator(mode="after")
    def _names_unique(self) -> PeopleFile:
        owner: dict[str, str] = {}
        for person in self.people:
            for name in (person.name, *person.aliases):
                if name in owner and owner[name] != person.name:
                    raise ValueError(f"name {name!r} belongs to both {owner[name]!r} and {person.name!r}")
                owner[name] = person.name
        return self


def load_people(path: Path) -> PeopleFile:
    return load_rule_file(path, PeopleFile) if path.exists() else PeopleFile()


@dataclass(frozen=True)
class Directory:
    """Who is who: our robots' names and the staff directory. Pure lookups."""

    robot_names: frozenset[str]
    people: dict[str, PersonRule]  # every name and alias -> person

    @classmethod
    def build(cls, robot_names: Iterable[str], people: PeopleFile) -> Directory:
        index: dict[str, PersonRule] = {}
        for person in people.people:
            if person.active:
                for name in (person.name, *person.aliases):
                    index[name.strip()] = person
        return cls(frozenset(n.strip() for n in robot_names), index)

    def role_of(self, sender_name: str) -> SenderRole:
        name = sender_name.strip()
        if name in self.robot_names:
            return "robot"
        person = self.people.get(name)
        return person.role if person is not None else "user"

    def person(self, sender_name: str) -> PersonRule | None:
        return self.people.get(sender_name.strip())
