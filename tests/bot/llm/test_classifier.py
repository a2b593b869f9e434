"""LlmClassifier with the real openai client against a local fake server, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from structlog.testing import capture_logs
from tortoise.exceptions import OperationalError

from bot.clock import FrozenClock
from bot.embedded_redis import free_port
from bot.llm import LlmClassifier, LlmVerdict
from bot.llm.cache import KEY_PREFIX
from bot.llm.ledger import Usage
from bot.settings import LlmSettings
from models.llm import LlmUsage
from tests.bot.llm.conftest import (
    API_KEY,
    CHOICES,
    COMPLETION_TOKENS,
    CONTEXT,
    PROMPT_TOKENS,
    REASON,
    FakeLlm,
    Raw,
    Slow,
    answer,
    completion,
)

TEXT = "二维码过期了，能再发一个吗"
Fake = tuple[FakeLlm, TestServer]
MakeClassifier = Callable[..., LlmClassifier]


@pytest.fixture
async def make(llm_settings: LlmSettings, clock: FrozenClock) -> AsyncIterator[MakeClassifier]:
    made: list[LlmClassifier] = []

    def factory(*, redis: Redis | None = None, **changes: Any) -> LlmClassifier:
        classifier = LlmClassifier(llm_settings.model_copy(update=changes), clock, redis=redis)
        made.append(classifier)
        return classifier

    yield factory
    for classifier in made:
        await classifier.close()


async def classify(classifier: LlmClassifier, text: str = TEXT) -> LlmVerdict | None:
    return await classifier.classify(text, "owner", CONTEXT, CHOICES)


async def rows() -> list[LlmUsage]:
    return await LlmUsage.all().order_by("id")


@pytest.mark.usefixtures("db")
async def test_happy_path_asks_for_json_and_records_tokens_and_cost(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    verdict = await classify(make())

    assert verdict == LlmVerdict("chat_after_sales", 0.87, REASON, cached=False)
    assert fake.auth == [f"Bearer {API_KEY}"]
    [request] = fake.requests
    assert request["model"] == "fake-model"
    assert request["response_format"] == {"type": "json_object"}
    system, user = request["messages"]
    assert system["role"] == "system"
    assert all(choice.code in system["content"] for choice in CHOICES)
    assert "运营小王: @张三 今天的视频发了吗" in system["content"]
    assert user == {"role": "user", "content": TEXT}

    [row] = await rows()
    assert (row.model, row.purpose, row.day) == ("fake-model", "classify", "2026-11-20")
    assert (row.prompt_tokens, row.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert row.cost == pytest.approx(PROMPT_TOKENS / 1000 * 0.002 + COMPLETION_TOKENS / 1000 * 0.008)
    assert (row.ok, row.cached) == (True, False)
    assert row.error is None
    assert row.latency_ms is not None
    assert row.latency_ms >= 0


@pytest.mark.usefixtures("db")
async def test_the_ledger_day_is_the_business_day(fake_llm: Fake, make: MakeClassifier, clock: FrozenClock) -> None:
    clock.advance(timedelta(hours=14))  # 16:00 UTC on the 20th is 00:00 on the 21st in Shanghai
    assert await classify(make()) is not None
    [row] = await rows()
    assert row.day == "2026-11-21"


@pytest.mark.usefixtures("db")
async def test_a_missing_api_key_is_sent_as_none(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    assert await classify(make(api_key=None)) is not None
    assert fake.auth == ["Bearer none"]


@pytest.mark.usefixtures("db")
async def test_fenced_json_is_accepted_and_confidence_clamped(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    fake.replies = [(200, completion('```json\n{"type": "chat_complaint", "confidence": 1.4, "reason": "退款"}\n```'))]
    assert await classify(make()) == LlmVerdict("chat_complaint", 1.0, "退款", cached=False)


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ((200, completion("我觉得是售后任务")), "invalid answer: not JSON"),
        ((200, answer(type_="chat_refund")), "invalid answer: type 'chat_refund' was not offered"),
        ((200, completion('{"type": "chat_daily"}')), "invalid answer: wrong shape: confidence"),
        ((200, completion("")), "invalid answer: empty reply"),
        ((200, {"id": "x", "object": "chat.completion", "choices": []}), "invalid answer: empty reply"),
        (Raw("upstream says hello"), "invalid answer: empty reply"),
    ],
)
async def test_unusable_answers_give_none_and_are_not_retried(
    fake_llm: Fake, make: MakeClassifier, reply: Any, error: str
) -> None:
    fake, _ = fake_llm
    fake.replies = [reply]
    assert await classify(make()) is None
    assert len(fake.requests) == 1
    [row] = await rows()
    assert row.ok is False
    assert row.error is not None
    assert row.error.startswith(error)


@pytest.mark.usefixtures("db")
async def test_an_invalid_answer_still_books_its_tokens(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    fake.replies = [(200, completion("not json", prompt_tokens=90, completion_tokens=7))]
    assert await classify(make()) is None
    [row] = await rows()
    assert (row.prompt_tokens, row.completion_tokens, row.ok) == (90, 7, False)
    assert row.cost > 0


@pytest.mark.usefixtures("db", "quick_retries")
@pytest.mark.parametrize("status", [500, 429, 503])
async def test_transient_errors_are_retried(fake_llm: Fake, make: MakeClassifier, status: int) -> None:
    fake, _ = fake_llm
    fake.replies = [(status, None), (status, None)]
    verdict = await classify(make(max_retries=2))
    assert verdict is not None
    assert verdict.type == "chat_after_sales"
    assert len(fake.requests) == 3
    ledger = await rows()
    assert [r.ok for r in ledger] == [False, False, True]
    assert all(r.error is not None and r.error.startswith(f"HTTP {status} ") for r in ledger[:2])
    assert [r.prompt_tokens for r in ledger] == [0, 0, PROMPT_TOKENS]


@pytest.mark.usefixtures("db", "quick_retries")
async def test_retries_stop_after_max_retries(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    fake.replies = [(500, None)] * 5
    assert await classify(make(max_retries=1)) is None
    assert len(fake.requests) == 2
    assert len(await rows()) == 2


@pytest.mark.usefixtures("db", "quick_retries")
@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_not_retried(fake_llm: Fake, make: MakeClassifier, status: int) -> None:
    fake, _ = fake_llm
    fake.replies = [(status, None), (200, answer())]
    assert await classify(make(max_retries=2)) is None
    assert len(fake.requests) == 1
    [row] = await rows()
    assert row.ok is False
    assert row.error is not None
    assert row.error.startswith(f"HTTP {status} ")


@pytest.mark.usefixtures("db", "quick_retries")
async def test_a_slow_reply_times_out_and_is_retried(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    fake.replies = [Slow(), Slow()]
    assert await classify(make(timeout_s=0.2, max_retries=1)) is None
    assert len(fake.requests) == 2
    ledger = await rows()
    assert [r.ok for r in ledger] == [False, False]
    assert all(r.error is not None and "APITimeoutError" in r.error for r in ledger)

    fake.replies = [Slow()]
    assert await classify(make(timeout_s=0.2, max_retries=1)) is not None  # the retry gets the answer
    assert len(fake.requests) == 4


@pytest.mark.usefixtures("db", "quick_retries")
async def test_an_unreachable_server_gives_none(make: MakeClassifier) -> None:
    classifier = make(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1)
    assert await classify(classifier) is None
    ledger = await rows()
    assert len(ledger) == 2
    assert all(r.error is not None and "APIConnectionError" in r.error for r in ledger)


@pytest.mark.usefixtures("db")
async def test_the_breaker_opens_stays_open_and_half_opens_on_the_clock(
    fake_llm: Fake, make: MakeClassifier, clock: FrozenClock
) -> None:
    fake, _ = fake_llm
    classifier = make(max_retries=0, circuit_failures=3, circuit_reset_s=60)
    fake.replies = [(500, None), (200, completion("nonsense")), (200, answer(type_="chat_refund"))]
    for _ in range(3):
        assert await classify(classifier) is None
    assert len(fake.requests) == 3
    assert classifier.breaker.state() == "open"

    for _ in range(3):  # open: nothing reaches the server
        assert await classify(classifier, "另一条消息") is None
    clock.advance(timedelta(seconds=59))
    assert await classify(classifier, "又一条") is None
    assert len(fake.requests) == 3

    clock.advance(timedelta(seconds=1))  # half-open: one trial call, which fails
    fake.replies = [(500, None)]
    assert await classify(classifier) is None
    assert len(fake.requests) == 4
    assert await classify(classifier) is None  # open again
    assert len(fake.requests) == 4

    clock.advance(timedelta(seconds=60))  # the next trial succeeds and closes the circuit
    assert await classify(classifier) is not None
    assert await classify(classifier, "第二条") is not None
    assert len(fake.requests) == 6
    assert classifier.breaker.state() == "closed"


@pytest.mark.usefixtures("db")
async def test_a_success_breaks_the_failure_streak(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    classifier = make(max_retries=0, circuit_failures=2)
    fake.replies = [(500, None), (200, answer()), (500, None)]
    for text in ("一", "二", "三", "四"):
        await classify(classifier, text)
    assert len(fake.requests) == 4  # never two failures in a row
    assert classifier.breaker.state() == "closed"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-process"])
async def test_a_cache_hit_makes_no_request_and_costs_no_tokens(
    fake_llm: Fake, make: MakeClassifier, redis: Redis, shared: bool
) -> None:
    fake, _ = fake_llm
    classifier = make(redis=redis if shared else None)
    first = await classify(classifier)
    second = await classify(classifier)

    assert first is not None
    assert second == LlmVerdict(first.type, first.confidence, first.reason, cached=True)
    assert len(fake.requests) == 1
    ledger = await rows()
    assert [(r.cached, r.ok, r.prompt_tokens, r.completion_tokens, r.cost) for r in ledger] == [
        (False, True, PROMPT_TOKENS, COMPLETION_TOKENS, pytest.approx(ledger[0].cost)),
        (True, True, 0, 0, 0.0),
    ]
    assert ledger[0].cost > 0
    assert await classify(classifier, "换一句话") is not None  # another prompt is another key
    assert len(fake.requests) == 2
    keys = await redis.keys(KEY_PREFIX + "*")
    assert len(keys) == (2 if shared else 0)


@pytest.mark.usefixtures("db")
async def test_the_redis_cache_is_shared_between_classifiers(
    fake_llm: Fake, make: MakeClassifier, redis: Redis
) -> None:
    fake, _ = fake_llm
    assert await classify(make(redis=redis)) is not None
    verdict = await classify(make(redis=redis))  # another process, same Redis
    assert verdict is not None
    assert verdict.cached
    assert len(fake.requests) == 1


@pytest.mark.usefixtures("db")
async def test_the_in_process_cache_expires_by_the_clock(
    fake_llm: Fake, make: MakeClassifier, clock: FrozenClock
) -> None:
    fake, _ = fake_llm
    classifier = make(cache_ttl_s=600)
    await classify(classifier)
    clock.advance(timedelta(seconds=599))
    assert (await classify(classifier)) is not None
    assert len(fake.requests) == 1
    clock.advance(timedelta(seconds=1))
    verdict = await classify(classifier)
    assert verdict is not None
    assert not verdict.cached
    assert len(fake.requests) == 2


@pytest.mark.usefixtures("db")
async def test_a_broken_redis_means_no_cache_not_no_verdict(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    dead: Redis = Redis(port=free_port(), socket_connect_timeout=0.5)
    try:
        classifier = make(redis=dead)
        assert await classify(classifier) is not None
        assert await classify(classifier) is not None
        assert len(fake.requests) == 2
    finally:
        await dead.aclose()


@pytest.mark.usefixtures("db")
async def test_failures_are_not_cached(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    classifier = make(max_retries=0)
    fake.replies = [(200, completion("nonsense"))]
    assert await classify(classifier) is None
    verdict = await classify(classifier)
    assert verdict is not None
    assert not verdict.cached
    assert len(fake.requests) == 2


async def add_usage(day: str, prompt_tokens: int, completion_tokens: int) -> None:
    await LlmUsage.create(
        at=datetime(2026, 11, 20, tzinfo=UTC),
        day=day,
        model="other-model",
        purpose="draft_reply",
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


@pytest.mark.usefixtures("db")
async def test_a_used_up_budget_means_no_call_and_one_warning_a_day(
    fake_llm: Fake, make: MakeClassifier, clock: FrozenClock
) -> None:
    fake, _ = fake_llm
    classifier = make(daily_token_budget=1000)
    await add_usage("2026-11-19", 5000, 5000)  # yesterday's spending does not count
    await add_usage("2026-11-20", 400, 100)
    assert await classify(classifier) is not None  # 500 used: still within the budget
    assert len(fake.requests) == 1

    await add_usage("2026-11-20", 300, 50)  # 500 + 150 (that call) + 350 = 1000
    with capture_logs() as logs:
        assert await classify(classifier, "另一条") is None
        assert await classify(classifier, "第三条") is None
    assert len(fake.requests) == 1
    warnings = [e for e in logs if e["event"] == "llm daily token budget used up"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert (warnings[0]["used"], warnings[0]["budget"]) == (1000, 1000)

    clock.advance(timedelta(days=1))  # a new business day, a new budget
    assert await classify(classifier, "另一条") is not None
    assert len(fake.requests) == 2


@pytest.mark.usefixtures("db")
async def test_a_zero_budget_means_no_calls(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    assert await classify(make(daily_token_budget=0)) is None
    assert fake.requests == []
    assert await rows() == []


@pytest.mark.parametrize(
    "changes",
    [{"enabled": False}, {"base_url": None}, {"enabled": False, "base_url": None}],
    ids=["disabled", "no-base-url", "default"],
)
async def test_disabled_means_no_call(fake_llm: Fake, make: MakeClassifier, changes: dict[str, Any]) -> None:
    fake, _ = fake_llm
    classifier = make(**changes)
    assert not classifier.enabled
    assert await classify(classifier) is None  # no database open: it must not even look
    assert fake.requests == []


async def test_default_settings_are_disabled(clock: FrozenClock) -> None:
    classifier = LlmClassifier(LlmSettings(), clock)
    assert not classifier.enabled
    assert await classify(classifier) is None
    await classifier.close()


@pytest.mark.usefixtures("db")
async def test_a_ledger_write_failure_does_not_lose_the_verdict(
    fake_llm: Fake, make: MakeClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, _ = fake_llm

    async def broken(usage: Usage) -> None:
        raise OperationalError("disk full")

    monkeypatch.setattr("bot.llm.classifier.record_usage", broken)
    classifier = make()
    with capture_logs() as logs:
        verdict = await classify(classifier)
        cached = await classify(classifier)
    assert verdict is not None
    assert cached is not None
    assert cached.cached
    assert len(fake.requests) == 1
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["llm usage not recorded"] * 2


@pytest.mark.usefixtures("db")
async def test_an_unreadable_ledger_means_no_call(fake_llm: Fake, make: MakeClassifier) -> None:
    fake, _ = fake_llm
    await LlmUsage._meta.db.execute_script('DROP TABLE "llm_usage"')
    with capture_logs() as logs:
        assert await classify(make()) is None  # the budget cannot be checked: do not overspend
    assert any(e["event"] == "llm skipped: token usage unreadable" for e in logs)
    assert fake.requests == []


@pytest.mark.usefixtures("db")
async def test_an_injected_client_is_used_and_left_open(fake_llm: Fake, llm_settings: LlmSettings) -> None:
    fake, server = fake_llm
    client = openai.AsyncOpenAI(base_url=str(server.make_url("/v1")), api_key="injected", max_retries=0)
    clock = FrozenClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    classifier = LlmClassifier(llm_settings, clock, client=client)
    assert await classify(classifier) is not None
    assert fake.auth == ["Bearer injected"]
    await classifier.close()
    assert not client.is_closed()
    assert await classify(classifier) is None  # closed classifiers do not call
    await client.close()


async def test_close_closes_the_own_client(make: MakeClassifier) -> None:
    classifier = make()
    client = classifier._client
    assert client is not None
    await classifier.close()
    assert client.is_closed()
