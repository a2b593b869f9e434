"""The full pipeline in-process (real Redis, both databases, an injected clock) on the small rule set of
tests/bot/understanding: verdicts stored, holding reply queued with the message, takeover pause, LLM hints."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.callbacks.payloads import MessageCallback
from bot.clock import FrozenClock
from bot.commands.service import Commands
from bot.db import open_db
from bot.ingest.incoming import normalise
from bot.ingest.writer import IngestWriter, backend_for
from bot.llm import LlmVerdict, TypeChoice
from bot.queue import arq_redis
from bot.reference import load_directory, sync_reference_data
from bot.understanding.store import RuleStore
from handlers.pipeline import Services
from handlers.steps import FULL_STEPS
from jobs.processing import WorkerDeps, drain_conversation
from models.commands import Command
from models.conversations import Conversation
from models.messages import InboundMessage
from tests.bot.understanding.conftest import write_rules
from tests.conftest import REPO, build_settings


class ScriptedLlm:
    """Stands in for LlmClassifier at the seam: answers from a script, records what it was asked."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, list[str]]] = []
        self.enabled = True

    async def classify(
        self, text: str, sender_role: str, context: Sequence[tuple[str, str]], choices: Sequence[TypeChoice]
    ) -> LlmVerdict | None:
        self.asked.append((text, [c.code for c in choices]))
        code = self.answers.get(text)
        return LlmVerdict(code, 0.85, "scripted", False) if code else None


@pytest.fixture
def llm() -> ScriptedLlm:
    return ScriptedLlm({"这个月的钱怎么还没到账": "chat_complaint"})


@pytest.fixture
async def deps(
    db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock, llm: ScriptedLlm
) -> AsyncIterator[WorkerDeps]:
    rules_dir = write_rules(tmp_path / "rules")
    shutil.copyfile(REPO / "rules" / "people.yaml", rules_dir / "people.yaml")
    settings = build_settings(db_url, redis_url, tmp_path, rules_dir=str(rules_dir))
    async with open_db(db_url):
        directory, people = load_directory(settings)
        await sync_reference_data(settings, people)
        redis = arq_redis(redis_url)
        fake: Any = llm
        services = Services(settings, RuleStore(rules_dir), Commands(settings, redis, clock), fake)
        yield WorkerDeps(settings, directory, redis, clock, FULL_STEPS, services=services)
        await redis.aclose()


async def say(deps: WorkerDeps, text: str, sender: str = "号主A", at_me: bool = False) -> InboundMessage:
    writer = IngestWriter(backend=backend_for(deps.settings.database.url, timedelta(seconds=15)), max_batch=10)
    await writer.start()
    body = {"spoken": text, "receivedName": sender, "groupName": "客户群1", "roomType": 1, "atMe": at_me}
    stored = await writer.submit(normalise("wt-robot-1", MessageCallback.model_validate(body), deps.clock.now()))
    await writer.stop()
    deps.clock.advance(timedelta(seconds=5))  # type: ignore[attr-defined]
    message = await InboundMessage.get(id=stored.message_id)
    await drain_conversation(deps, message.conversation_id)  # type: ignore[attr-defined]
    await message.refresh_from_db()
    return message


async def test_complaint_then_takeover_then_silence(deps: WorkerDeps, clock: FrozenClock) -> None:
    complaint = await say(deps, "把钱退给我")
    assert (complaint.type, complaint.intervention_case, complaint.intervention_priority) == (
        "chat_complaint",
        "needs_staff_now",
        "high",
    )
    assert complaint.rules_version == deps.services.rules.current.version  # type: ignore[union-attr]
    replies = await Command.filter(purpose="reply").order_by("id")
    assert [(c.content, c.at_list, c.reply_key) for c in replies] == [
        ("@号主A 抱歉，已通知售后小王处理", ["号主A"], f"reply:{complaint.id}")
    ]
    answer = await say(deps, "您好，我来跟进", sender="售后小王")
    assert (answer.sender_role, answer.type, answer.intervention_case, answer.is_staff_intervention) == (
        "staff",
        "staff_reply_user",
        "staff_took_over",
        True,
    )
    conversation = await Conversation.get(id=answer.conversation_id)  # type: ignore[attr-defined]
    assert conversation.paused_by == "售后小王"
    assert conversation.bot_paused_until == clock.now() + timedelta(minutes=30)  # processed at now
    faq = await say(deps, "二维码过期了", at_me=True)
    assert faq.intervention_case == "needs_after_sales"
    assert await Command.filter(purpose="reply").count() == 1  # paused: no FAQ answer
    clock.advance(timedelta(minutes=31))
    later = await say(deps, "二维码又过期了", at_me=True)
    assert [c.requested_by for c in await Command.filter(purpose="reply").order_by("id")] == [
        "rule:投诉安抚",
        "rule:二维码",
    ]
    assert later.type == "chat_after_sales"


async def test_the_llm_is_asked_only_when_the_rules_are_unsure(deps: WorkerDeps, llm: ScriptedLlm) -> None:
    sure = await say(deps, "二维码过期了")
    unsure = await say(deps, "这个月的钱怎么还没到账")
    nobody = await say(deps, "嗯嗯")
    assert [text for text, _ in llm.asked] == ["这个月的钱怎么还没到账", "嗯嗯"]
    assert llm.asked[0][1] == ["chat_daily", "chat_after_sales", "chat_complaint", "chat_response", "chat_other"]
    assert (sure.type_source, unsure.type_source, nobody.type_source) == ("rules", "llm", "fallback")
    assert (unsure.type, unsure.intervention_case) == ("chat_complaint", "needs_staff_now")
    assert unsure.type_reason is not None
    assert "rules said chat_other" in unsure.type_reason


async def test_our_robots_messages_are_stored_but_never_judged(deps: WorkerDeps) -> None:
    robot = await say(deps, "把钱退给我", sender="小助手")
    assert (robot.sender_role, robot.type, robot.type_source, robot.intervention_case) == (
        "robot",
        None,
        "robot",
        "no_staff_needed",
    )
    assert await Command.filter(purpose="reply").count() == 0
