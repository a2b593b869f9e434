"""A local OpenAI-compatible server with scripted replies, and the classifier wired to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.db import open_db
from bot.llm import TypeChoice
from bot.settings import LlmSettings

API_KEY = "sk-test-0123456789"
PROMPT_TOKENS = 120
COMPLETION_TOKENS = 30
REASON = "二维码过期，需要工作人员处理"

CHOICES = (
    TypeChoice("chat_daily", "日常聊天", "user", "问候、感谢、闲聊、节日祝福"),
    TypeChoice("chat_after_sales", "售后任务", "user", "只有工作人员能解决的问题：扫码、登录、绑定、验证码"),
    TypeChoice("chat_complaint", "用户投诉", "user", "对公司或工作人员的不满、质疑、退款、威胁投诉"),
    TypeChoice("chat_other", "其他", "user", "其他：单字、链接、表情、图片"),
)
CONTEXT = (("运营小王", "@张三 今天的视频发了吗"), ("张三", "还没"))


def completion(content: str, prompt_tokens: int = PROMPT_TOKENS, completion_tokens: int = COMPLETION_TOKENS) -> Any:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": "fake-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"},
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def answer(type_: str = "chat_after_sales", confidence: float = 0.87, reason: str = REASON) -> Any:
    return completion(json.dumps({"type": type_, "confidence": confidence, "reason": reason}, ensure_ascii=False))


@dataclass(frozen=True)
class Slow:
    """Answer only after `delay_s` (longer than the client's timeout)."""

    delay_s: float = 5.0


@dataclass(frozen=True)
class Raw:
    """A 200 answer whose body is not a chat completion at all."""

    body: str
    content_type: str = "text/plain"


Reply = tuple[int, Any] | Slow | Raw


@dataclass
class FakeLlm:
    """`POST /v1/chat/completions`: pops the next scripted reply (a valid answer when none is left)."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self.auth.append(request.headers.get("Authorization"))
        reply = self.replies.pop(0) if self.replies else (200, answer())
        if isinstance(reply, Slow):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), reply.delay_s)
            reply = (200, answer())
        if isinstance(reply, Raw):
            return web.Response(text=reply.body, content_type=reply.content_type)
        status, body = reply
        if status >= 400:
            body = body or {"error": {"message": f"scripted {status}", "type": "server_error", "code": None}}
        return web.json_response(body, status=status)


@pytest.fixture
async def fake_llm(aiohttp_server: Callable[..., Any]) -> AsyncIterator[tuple[FakeLlm, TestServer]]:
    fake = FakeLlm()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.handle)
    server: TestServer = await aiohttp_server(app)
    yield fake, server
    fake.released.set()  # let slow handlers finish so the server closes promptly


@pytest.fixture
def llm_settings(fake_llm: tuple[FakeLlm, TestServer]) -> LlmSettings:
    _, server = fake_llm
    return LlmSettings(
        enabled=True,
        base_url=str(server.make_url("/v1")),
        model="fake-model",
        api_key=SecretStr(API_KEY),
        timeout_s=0.3,
        max_retries=2,
        daily_token_budget=10_000,
        circuit_failures=3,
        circuit_reset_s=60,
        cache_ttl_s=3600,
        price_per_1k_prompt=0.002,
        price_per_1k_completion=0.008,
    )


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[None]:
    async with open_db(db_url):
        yield


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the real exponential wait's shape but make it short: the tests do not need 0.2 s pauses."""
    monkeypatch.setattr("bot.llm.classifier.RETRY_WAIT_S", 0.01)
