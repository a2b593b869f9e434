"""Reply hygiene through the real pipeline (issue 17): one holding reply per user and open item within
`replies.holding_window_s`; a second complaint joins the first. Real Redis, both databases, injected clock."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.callbacks.payloads import MessageCallback
from bot.clock import FrozenClock
from bot.commands.service import Commands
from bot.db import open_db
from bot.ingest.incoming import normalise
from bot.ingest.writer import IngestWriter, backend_for
from bot.queue import arq_redis
from bot.reference import load_directory, sync_reference_data
from bot.understanding.store import RuleStore
from handlers.pipeline import Services
from handlers.steps import FULL_STEPS
from jobs.processing import WorkerDeps, drain_conversation
from models.commands import Command
from models.messages import InboundMessage
from tests.bot.understanding.conftest import write_rules
from tests.conftest import REPO, build_settings


@pytest.fixture
async def deps(db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[WorkerDeps]:
    rules_dir = write_rules(tmp_path / "rules")
    shutil.copyfile(REPO / "rules" / "people.yaml", rules_dir / "people.yaml")
    settings = build_settings(db_url, redis_url, tmp_path, rules_dir=str(rules_dir))
    settings = settings.model_copy(update={"replies": settings.replies.model_copy(update={"holding_window_s": 600})})
    async with open_db(db_url):
        directory, people = load_directory(settings)
        await sync_reference_data(settings, people)
        redis = arq_redis(redis_url)
        services = Services(settings, RuleStore(rules_dir), Commands(settings, redis, clock), None)
        yield WorkerDeps(settings, directory, redis, clock, FULL_STEPS, services=services)
        await redis.aclose()


async def say(deps: WorkerDeps, clock: FrozenClock, *lines: tuple[str, str]) -> list[InboundMessage]:
    """(sender, text) lines 4 s apart, ingested together and then processed."""
    writer = IngestWriter(backend=backend_for(deps.settings.database.url, timedelta(seconds=15)), max_batch=10)
    await writer.start()
    ids = []
    for sender, text in lines:
        body = {"spoken": text, "receivedName": sender, "groupName": "客户群1", "roomType": 1}
        stored = await writer.submit(normalise("wt-robot-1", MessageCallback.model_validate(body), clock.now()))
        ids.append(stored.message_id)
        clock.advance(timedelta(seconds=4))
    await writer.stop()
    messages = [await InboundMessage.get(id=i) for i in ids]
    await drain_conversation(deps, messages[0].conversation_id)  # type: ignore[attr-defined]
    return messages


async def holding_replies() -> list[tuple[list[str], str]]:
    rows = await Command.filter(purpose="reply", requested_by="rule:投诉安抚").order_by("id")
    return [(c.at_list, c.reply_key) for c in rows]


async def test_a_second_complaint_joins_the_first(deps: WorkerDeps, clock: FrozenClock) -> None:
    first, second, other = await say(deps, clock, ("号主A", "把钱退给我"), ("号主A", "退款！"), ("号主B", "骗子，退钱"))
    for message in (first, second, other):
        await message.refresh_from_db()
        assert message.intervention_case == "needs_staff_now"  # both still need staff: only the reply is held
    # one holding reply per user: 号主A's second complaint 4 s later joins the first; 号主B gets their own
    assert await holding_replies() == [(["号主A"], f"reply:{first.id}"), (["号主B"], f"reply:{other.id}")]
    clock.advance(timedelta(minutes=5))
    await say(deps, clock, ("号主A", "人呢？快退钱"))  # still within the 10-minute window
    assert len(await holding_replies()) == 2
    clock.advance(timedelta(minutes=10))
    (late,) = await say(deps, clock, ("号主A", "退钱退钱"))  # the window has passed: they hear from us again
    assert (await holding_replies())[-1] == (["号主A"], f"reply:{late.id}")
