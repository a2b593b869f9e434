"""API of message understanding: the type catalogue, classifying a message, reloading the rules."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot import limits
from bot.api.auth import CALLER, requires
from bot.api.envelope import ApiError, ok, read_body
from bot.keys import LLM, RULES, SETTINGS
from bot.understanding.engine import ContextMessage, MessageInput
from bot.understanding.fallback import classify_with_fallback
from bot.understanding.intervention import judge

routes = web.RouteTableDef()
# The plan's examples (and chat-completion habits) call our robot "assistant".
ROLE_SPELLINGS: Final = {"assistant": "robot", "bot": "robot"}


def _role(value: object) -> object:
    return ROLE_SPELLINGS.get(value, value) if isinstance(value, str) else value


Role = Annotated[Literal["user", "staff", "operator", "manager", "robot"], BeforeValidator(_role)]


class ContextBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Role
    content: str = Field(max_length=5000)
    sender_name: str = ""


class IdentifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    message: str = Field(min_length=1, max_length=5000)
    context: list[ContextBody] = Field(default_factory=list, max_length=50)
    sender_role: Role = "user"
    sender_name: str = Field(default="", max_length=limits.NAME_CHARS)


@routes.get("/api/messages/types")
@requires("staff")
async def message_types(request: web.Request) -> web.Response:
    rules = request.app[RULES].current
    data = [
        {
            "code": t.code,
            "name": t.name,
            "category": t.category,
            "description": t.description,
            "fallback": t.fallback,
            "rules": len(t.rules),
        }
        for t in rules.message_types.types
    ]
    return ok({"rules_version": rules.version, "types": data})


@routes.post("/api/messages/identify-type")
@requires("staff")
async def identify_type(request: web.Request) -> web.Response:
    body = await read_body(request, IdentifyRequest)
    rules = request.app[RULES].current
    context = tuple(ContextMessage(role=c.role, text=c.content, sender=c.sender_name) for c in body.context)
    msg = MessageInput(body.message, body.sender_role, body.sender_name, None, context)
    threshold = request.app[SETTINGS].llm.confidence_threshold
    found = await classify_with_fallback(msg, rules, request.app.get(LLM), threshold)
    verdict = judge(msg, found, rules.intervention, rules.engine)
    data = {
        "type": found.type,
        "type_name": found.type_name,
        "category": found.category,
        "confidence": found.confidence,
        "reason": found.reason,
        "source": found.source,
        "intervention": {
            "case": verdict.case,
            "should_intervene": verdict.should_intervene,
            "reason": verdict.reason,
            "priority": verdict.priority,
        },
        "rules_version": rules.version,
    }
    return ok(data)


@routes.post("/api/admin/rules/reload")
@requires("admin")
async def reload_rules(request: web.Request) -> web.Response:
    result = await request.app[RULES].reload(f"api:{request[CALLER].name}")
    data = {
        "applied": result.applied,
        "version": result.version,
        "previous_version": result.previous,
        "diff": result.diff,
        "errors": result.error.splitlines() if result.error else [],
    }
    if result.error:
        raise ApiError(
            422, "the new rules were refused; the running set stays:\n" + result.error, error="invalid_rules"
        )
    return ok(data, message="reloaded" if result.applied else "no change")
