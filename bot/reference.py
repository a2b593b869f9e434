"""Reference data loaded at start-up by both the web app and the worker (same builders).

Robots come from config, the staff directory from `rules/people.yaml`, the message types from
`rules/message_types.yaml`; each is synced into its table so queries and reports can join on them.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from bot.rules.alerts import load_alerts
from bot.rules.message_types import load_message_types
from bot.rules.people import Directory, PeopleFile, load_people
from bot.settings import Settings
from bot.write_lock import write_transaction
from models.alerts import AlertLevel
from models.message_types import MessageType
from models.people import Person
from models.robots import Robot

log = structlog.get_logger(__name__)


def load_directory(settings: Settings) -> tuple[Directory, PeopleFile]:
    people = load_people(Path(settings.rules_dir) / "people.yaml")
    return Directory.build((r.name for r in settings.worktool.robots), people), people


async def sync_reference_data(settings: Settings, people: PeopleFile) -> None:
    types = load_message_types(Path(settings.rules_dir) / "message_types.yaml")
    alerts = load_alerts(Path(settings.rules_dir) / "alerts.yaml")
    # The lock up front: a deferred transaction that read first failed at once ("database is locked")
    # when the worker committed in between, and the server died at start under a backlog.
    async with write_transaction("reference data") as tx:
        conn = tx.conn
        for robot in settings.worktool.robots:
            await Robot.update_or_create(
                id=robot.id, defaults={"name": robot.name, "roles": list(robot.roles), "enabled": True}, using_db=conn
            )
        configured = [r.id for r in settings.worktool.robots]
        await Robot.exclude(id__in=configured).using_db(conn).update(enabled=False)
        for person in people.people:
            await Person.update_or_create(
                name=person.name,
                defaults={
                    "aliases": list(person.aliases),
                    "role": person.role,
                    "skills": list(person.skills),
                    "shift": person.shift.model_dump(mode="json"),
                    "phone": person.phone,
                    "wecom_userid": person.wecom_userid,
                    "max_open_tasks": person.max_open_tasks,
                    "active": person.active,
                },
                using_db=conn,
            )
        await Person.exclude(name__in=[p.name for p in people.people]).using_db(conn).update(active=False)
        for order, mtype in enumerate(types.types):
            await MessageType.update_or_create(
                code=mtype.code,
                defaults={
                    "name": mtype.name,
                    "category": mtype.category,
                    "description": mtype.description,
                    "sort_order": order,
                },
                using_db=conn,
            )
        for level in alerts.levels:
            await AlertLevel.update_or_create(
                level=level.level,
                defaults={
                    "name": level.name,
                    "after_minutes": level.after_minutes,
                    "channels": list(level.channels),
                    "recipients": list(level.recipients),
                },
                using_db=conn,
            )
    log.info(
        "reference data synced",
        robots=len(settings.worktool.robots),
        people=len(people.people),
        message_types=len(types.types),
    )
