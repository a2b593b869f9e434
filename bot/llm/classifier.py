"""`LlmClassifier`: the LLM fallback the rules consult when they are not confident enough.

Order of checks for one message: enabled → response cache → daily token budget → circuit breaker →
the call (with retries on transient errors only). A cache hit spends no tokens, so it is served even
when the budget is used up or the circuit is open. Every outcome short of success returns None and
says why in the log: the rules' own verdict stands, and the service works without the LLM.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

import structlog
from redis.asyncio import Redis
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential

from bot.clock import Clock
from bot.llm.breaker import CircuitBreaker
from bot.llm.cache import MemoryCache, RedisCache, ResponseCache, cache_key
from bot.llm.ledger import Usage, record_usage, tokens_used
from bot.llm.prompt import Answer, InvalidAnswer, TypeChoice, build_messages, parse_answer
from bot.metrics import observe_llm
from bot.settings import LlmSettings

if TYPE_CHECKING:  # openai is imported when a client is made: ~0.4 s of start-up every process would pay
    import openai
    from openai.types.chat import ChatCompletionMessageParam

log = structlog.get_logger(__name__)
PURPOSE: Final = "classify"
MAX_COMPLETION_TOKENS: Final = 300  # the answer is one short JSON object; this caps a runaway reply
RETRY_WAIT_S: Final = 0.2  # first wait; doubles per retry
RETRY_WAIT_MAX_S: Final = 2.0


@dataclass(frozen=True)
class LlmVerdict:
    type: str  # one of the offered codes
    confidence: float  # 0..1
    reason: str
    cached: bool


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: timeouts, connection errors, 429 and 5xx. Other 4xx will not change."""
    import openai  # noqa: PLC0415 - already loaded: an exception from the client got us here

    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    prefix = f"HTTP {status} " if status is not None else ""
    return f"{prefix}{type(exc).__name__}: {exc}"[:500]


class LlmClassifier:
    def __init__(
        self,
        settings: LlmSettings,
        clock: Clock,
        *,
        redis: Redis | None = None,
        timezone: str = "Asia/Shanghai",
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._tz = ZoneInfo(timezone)
        self._breaker = CircuitBreaker(settings.circuit_failures, settings.circuit_reset_s, clock)
        self._cache: ResponseCache = RedisCache(redis) if redis is not None else MemoryCache(clock)
        self._budget_warned_day: str | None = None
        self._owns_client = client is None
        self._client = client
        if client is None and self.enabled:
            import openai  # noqa: PLC0415 - only a process with the LLM enabled pays for the import

            api_key = settings.api_key.get_secret_value() if settings.api_key else "none"
            self._client = openai.AsyncOpenAI(
                base_url=settings.base_url, api_key=api_key, timeout=settings.timeout_s, max_retries=0
            )

    @property
    def enabled(self) -> bool:
        return self._settings.enabled and bool(self._settings.base_url)

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def close(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.close()
        self._client = None

    async def classify(
        self, text: str, sender_role: str, context: Sequence[tuple[str, str]], choices: Sequence[TypeChoice]
    ) -> LlmVerdict | None:
        """The model's pick among `choices`, or None (logged) when it cannot or should not answer."""
        skip = self._skip_reason(choices)
        if skip:
            log.debug("llm skipped", reason=skip)
            return None
        messages = build_messages(text, sender_role, context, choices)
        key = cache_key(self._settings.model, messages)
        hit = await self._from_cache(key, choices)
        if hit is not None:
            return hit
        if not await self._within_budget(self._today()):
            return None
        if not self._breaker.allow():
            log.info("llm skipped", reason="circuit open")
            return None
        import openai  # noqa: PLC0415 - loaded with the client (enabled, not skipped)

        try:
            answer = await self._ask(messages, choices)
        except (openai.OpenAIError, InvalidAnswer) as exc:
            self._breaker.record_failure()
            log.warning("llm gave no verdict", error=_describe(exc), breaker=self._breaker.state())
            return None
        self._breaker.record_success()
        if self._settings.cache_ttl_s > 0:
            await self._cache.put(key, answer.model_dump_json(), self._settings.cache_ttl_s)
        log.info("llm verdict", type=answer.type, confidence=answer.confidence, cached=False)
        return LlmVerdict(answer.type, answer.confidence, answer.reason, cached=False)

    def _skip_reason(self, choices: Sequence[TypeChoice]) -> str | None:
        if not self.enabled:
            return "disabled"
        if self._client is None:
            return "closed"
        return None if choices else "no types offered"

    def _today(self) -> str:
        return self._clock.now().astimezone(self._tz).date().isoformat()

    def _row(self) -> Usage:
        now = self._clock.now()
        day = now.astimezone(self._tz).date().isoformat()
        return Usage(at=now, day=day, model=self._settings.model, purpose=PURPOSE)

    async def _from_cache(self, key: str, choices: Sequence[TypeChoice]) -> LlmVerdict | None:
        """A cached answer (no tokens spent, but still a ledger row), or None on a miss."""
        if self._settings.cache_ttl_s <= 0:
            return None
        raw = await self._cache.get(key)
        if raw is None:
            return None
        try:
            answer = parse_answer(raw, choices)
        except InvalidAnswer as exc:  # written by an older version, or tampered with: ask again
            log.warning("llm cache entry unreadable; ignored", error=str(exc))
            return None
        await self._record(replace(self._row(), cached=True, latency_ms=0))
        log.info("llm verdict", type=answer.type, confidence=answer.confidence, cached=True)
        return LlmVerdict(answer.type, answer.confidence, answer.reason, cached=True)

    async def _within_budget(self, day: str) -> bool:
        budget = self._settings.daily_token_budget
        try:
            used = await tokens_used(day) if budget > 0 else 0
        except Exception:
            # Without the ledger the budget cannot be enforced: skip the call rather than overspend.
            log.exception("llm skipped: token usage unreadable", day=day)
            return False
        if used < budget:
            return True
        if self._budget_warned_day != day:
            self._budget_warned_day = day
            log.warning("llm daily token budget used up", day=day, used=used, budget=budget)
        else:
            log.debug("llm skipped", reason="budget used up", day=day)
        return False

    async def _ask(self, messages: list[ChatCompletionMessageParam], choices: Sequence[TypeChoice]) -> Answer:
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(1 + self._settings.max_retries),
            wait=wait_exponential(multiplier=RETRY_WAIT_S, max=RETRY_WAIT_MAX_S),
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(messages, choices)
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True

    async def _attempt(self, messages: list[ChatCompletionMessageParam], choices: Sequence[TypeChoice]) -> Answer:
        """One request; its ledger row is written whatever happens."""
        assert self._client is not None
        import openai  # noqa: PLC0415 - loaded with the client

        settings = self._settings
        row = self._row()
        started = time.monotonic()
        try:
            response = await self._client.chat.completions.create(
                model=settings.model,
                messages=messages,
                response_format={"type": "json_object"},
                temperature=0,
                max_tokens=MAX_COMPLETION_TOKENS,
            )
        except openai.OpenAIError as exc:
            await self._record(replace(row, ok=False, error=_describe(exc), latency_ms=_ms_since(started)))
            raise
        content, prompt_tokens, completion_tokens = _read(response)
        cost = (
            prompt_tokens / 1000 * settings.price_per_1k_prompt
            + completion_tokens / 1000 * settings.price_per_1k_completion
        )
        row = replace(
            row,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            latency_ms=_ms_since(started),
        )
        try:
            answer = parse_answer(content, choices)
        except InvalidAnswer as exc:
            await self._record(replace(row, ok=False, error=f"invalid answer: {exc}"[:500]))
            log.info("llm answer rejected", content=(content or "")[:200], error=str(exc))
            raise
        await self._record(row)
        return answer

    async def _record(self, usage: Usage) -> None:
        observe_llm(
            ok=usage.ok,
            cached=usage.cached,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost=usage.cost,
        )
        try:
            await record_usage(usage)
        except Exception:  # the ledger is bookkeeping: losing a row must not lose the verdict
            log.exception("llm usage not recorded", model=usage.model, ok=usage.ok, cached=usage.cached)


def _read(response: object) -> tuple[str | None, int, int]:
    """Content and token counts, read defensively: providers that are "OpenAI-compatible" differ, and
    the client builds its objects without validation, so a field may be missing or of another type."""
    usage = getattr(response, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", 0)
    completion_tokens = getattr(usage, "completion_tokens", 0)
    choices = getattr(response, "choices", None)
    message = getattr(choices[0], "message", None) if isinstance(choices, list) and choices else None
    content = getattr(message, "content", None)
    return (
        content if isinstance(content, str) else None,
        prompt_tokens if isinstance(prompt_tokens, int) else 0,
        completion_tokens if isinstance(completion_tokens, int) else 0,
    )


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    log.info("llm call retried", attempt=state.attempt_number, error=_describe(exc) if exc else None)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
