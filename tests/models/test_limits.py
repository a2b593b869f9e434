"""One schema of limits (bot/limits.py): every column's length is a declared limit, every value copied from
one field into another fits, and a name at the edge's limit goes through the whole pipeline on both
databases while one character more is refused at ingest."""

from __future__ import annotations

import ast
import importlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel
from tortoise import fields
from tortoise.models import Model

from bot import limits
from bot.alerts.policy import target_of
from bot.alerts.service import AlertSpec
from bot.api.alerts import CancelRequest, EscalateRequest
from bot.api.commands import SendRequest
from bot.api.tasks import AssignRequest
from bot.callbacks.payloads import MessageCallback
from bot.clock import FrozenClock
from bot.rules.alerts import AlertsFile, KindPolicy, Level
from bot.rules.assignment import TaskType
from bot.rules.message_types import MessageTypeRule
from bot.rules.people import PersonRule
from bot.settings import AlertSettings, ApiToken, LlmSettings, RobotSettings
from bot.tasks.service import open_key
from jobs.processing import WorkerDeps
from models import MODEL_MODULES
from models.alerts import Alert, AlertStatus, CancelReason
from models.messages import InboundMessage, ProcessingState
from models.tasks import AfterSalesTask
from tests.conftest import CALLBACK_TOKEN
from tests.jobs.chat import say
from tests.jobs.deps import worker_deps

REPO = Path(__file__).resolve().parents[2]
SCHEMAS: dict[str, type[BaseModel]] = {
    cls.__name__: cls
    for cls in (
        MessageCallback,
        PersonRule,
        Level,
        KindPolicy,
        AlertsFile,
        AlertSettings,
        TaskType,
        MessageTypeRule,
        RobotSettings,
        ApiToken,
        LlmSettings,
        AssignRequest,
        CancelRequest,
        EscalateRequest,
        SendRequest,
    )
}
INT_RANGES: dict[type[fields.Field[Any]], limits.IntRange] = {
    fields.SmallIntField: limits.SMALLINT,
    fields.IntField: limits.INT32,
    fields.BigIntField: limits.BIGINT,
}
# Integers copied from a schema into a column: (source, target); the source's bounds lie in the column's range.
INT_COPIES = (
    ("MessageCallback.room_type", "InboundMessage.room_type"),
    ("Level.level", "AlertLevel.level"),
    ("PersonRule.max_open_tasks", "Person.max_open_tasks"),
    ("EscalateRequest.escalate_to", "Alert.level"),
    ("AssignRequest.task_id", "AfterSalesTask.id"),
    ("AssignRequest.conversation_id", "AfterSalesTask.conversation_id"),
    ("SendRequest.conversation_id", "Command.conversation_id"),
)
LIMIT_NAMES = frozenset(n for n in dir(limits) if n.isupper() and isinstance(getattr(limits, n), int))


def model_classes() -> Iterator[type[Model]]:
    for module_name in MODEL_MODULES:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Model) and value.__module__ == module_name:
                yield value


MODELS: dict[str, type[Model]] = {cls.__name__: cls for cls in model_classes()}


def column_length(ref: str) -> int:
    cls, name = ref.split(".")
    length = getattr(MODELS[cls]._meta.fields_map[name], "max_length", None)
    assert isinstance(length, int), f"{ref} is not a text column"
    return length


def schema_length(ref: str) -> int | None:
    cls, name = ref.split(".")
    prop = SCHEMAS[cls].model_json_schema(by_alias=False, mode="validation")["properties"][name]
    options = [prop, *prop.get("anyOf", ())]
    options += [o["items"] for o in options if o.get("type") == "array"]  # each name of a list
    lengths = [o["maxLength"] for o in options if o.get("type") == "string" and "maxLength" in o]
    return min(lengths) if lengths else None


def length_of(ref: str) -> int | None:
    return column_length(ref) if ref.split(".", maxsplit=1)[0] in MODELS else schema_length(ref)


def test_every_text_column_declares_its_length_with_a_named_limit() -> None:
    stray = []
    for path in sorted((REPO / "models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr not in ("CharField", "CharEnumField"):
                continue
            length = next((k.value for k in node.keywords if k.arg == "max_length"), None)
            named = (
                isinstance(length, ast.Attribute)
                and isinstance(length.value, ast.Name)
                and length.value.id == "limits"
                and length.attr in LIMIT_NAMES
            )
            if not named:
                stray.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert stray == []


def test_every_text_column_is_as_long_as_its_limit() -> None:
    declared = {getattr(limits, n) for n in LIMIT_NAMES}
    columns = 0
    for cls in MODELS.values():
        for name, field in cls._meta.fields_map.items():
            length = getattr(field, "max_length", None)
            if isinstance(field, fields.CharField) or length is not None:
                columns += 1
                assert length in declared, f"{cls.__name__}.{name}: {length} is no limit of bot/limits.py"
    assert columns > 60  # the walk saw the models


@pytest.mark.parametrize(("source", "target"), limits.COPIES, ids=[f"{s}->{t}" for s, t in limits.COPIES])
def test_a_copied_value_fits_where_it_is_copied(source: str, target: str) -> None:
    source_length = length_of(source)
    assert source_length is not None, f"{source} is unbounded but is copied into {target}"
    target_length = length_of(target)
    assert target_length is not None
    assert target_length >= source_length, f"{source} holds {source_length} chars, {target} only {target_length}"


@pytest.mark.parametrize(("source", "target"), INT_COPIES)
def test_a_copied_integer_fits_its_column(source: str, target: str) -> None:
    cls, name = source.split(".")
    prop = SCHEMAS[cls].model_json_schema(by_alias=False)["properties"][name]
    prop = next((o for o in [prop, *prop.get("anyOf", ())] if o.get("type") == "integer"), prop)  # of `int | None`
    model, column = target.split(".")
    column_range = INT_RANGES[type(MODELS[model]._meta.fields_map[column])]
    assert prop.get("minimum") in column_range, f"{source}: lower bound {prop.get('minimum')} not in {column_range}"
    assert prop.get("maximum") in column_range, f"{source}: upper bound {prop.get('maximum')} not in {column_range}"


def test_composite_keys_hold_their_longest_parts() -> None:
    name, kind, conversation = "名" * limits.NAME_CHARS, "k" * limits.KIND_CHARS, limits.BIGINT.max
    alert_key = AlertSpec(kind=kind, subject=name, conversation_id=conversation).dedup_key
    assert len(alert_key) <= column_length("Alert.dedup_key") == column_length("Alert.open_key")
    assert len(open_key(conversation, name, kind)) <= column_length("AfterSalesTask.open_key")
    assert len(f"{'题' * limits.LABEL_CHARS} · {name}") <= column_length("Alert.title")
    for channel, recipient, group in (("wecom_app", name, None), ("worktool_group", "x", name)):
        assert len(target_of(channel, recipient, conversation, group)) <= column_length("Notification.target")
    assert len(target_of("group_reminder", "x", conversation, None)) <= column_length("Notification.target")
    # a command's keys: what the API lets a caller choose, its prefix and a part number
    assert len(f"api:{'k' * limits.API_IDEMPOTENCY_KEY_CHARS}#99") <= column_length("Command.idempotency_key")


# -- end to end ----------------------------------------------------------------------------------------

LONGEST_NAME = ("号主" * limits.NAME_CHARS)[: limits.NAME_CHARS - 1] + "A"  # multi-byte, at the limit exactly


@pytest.fixture
async def deps(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[WorkerDeps]:
    async with worker_deps(db_url, redis_url, tmp_path, clock, services=True) as deps:
        yield deps


def assert_processed(message: InboundMessage) -> None:
    assert message.error is None
    assert (message.state, message.attempts) == (ProcessingState.PROCESSED, 1)  # on its first attempt


async def test_a_name_at_the_limit_goes_through_every_step(deps: WorkerDeps) -> None:
    group = "群" * limits.NAME_CHARS
    complaint = await say(deps, "你们这服务太差了，我要投诉！", LONGEST_NAME, group)
    assert_processed(complaint)
    assert complaint.sender_name == LONGEST_NAME
    alert = await Alert.get(kind="complaint_unhandled")
    assert (alert.subject, alert.status, alert.source_message_id) == (LONGEST_NAME, AlertStatus.OPEN, complaint.id)
    assert alert.title.startswith("投诉未处理 · 群")

    request = await say(deps, "二维码过期了，扫不了", LONGEST_NAME, group)
    assert_processed(request)
    task = await AfterSalesTask.get(user=LONGEST_NAME)
    assert task.assignee == "售后小王"

    # Staff @-ing the user finds the alert by its whole subject (a truncated one never matched).
    reply = await say(deps, f"@{LONGEST_NAME} 您好，麻烦把截图发我看看", "售后小王", group)
    assert_processed(reply)
    await alert.refresh_from_db()
    assert (alert.status, alert.cancel_reason, alert.cancelled_by) == (
        AlertStatus.CANCELLED,
        CancelReason.STAFF_INTERVENED,
        "售后小王",
    )


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("receivedName", "名" * (limits.NAME_CHARS + 1), limits.NAME_CHARS),
        ("groupName", "群" * (limits.NAME_CHARS + 1), limits.NAME_CHARS),
        ("groupRemark", "备" * (limits.NAME_CHARS + 1), limits.NAME_CHARS),
        ("messageId", "7" * (limits.EXTERNAL_ID_CHARS + 1), limits.EXTERNAL_ID_CHARS),
    ],
)
async def test_one_char_over_the_limit_is_refused_at_ingest(
    client: TestClient[Any, Any], field: str, value: str, limit: int
) -> None:
    body = {"spoken": "你们这服务太差了，我要投诉！", "receivedName": "号主A", "groupName": "客户群1", "roomType": 1}
    resp = await client.post(f"/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}", json={**body, field: value})
    assert resp.status == 400, await resp.text()
    message = (await resp.json())["message"]
    assert field in message
    assert str(limit) in message
    assert await InboundMessage.all().count() == 0
