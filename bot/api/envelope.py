"""The JSON envelope (DESIGN §4.2) and the one place exceptions become error responses."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.callbacks.payloads import describe_validation_error

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error with the HTTP status and envelope code it should produce."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error: str | None = None,
        code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.headers = headers or {}
        self.status = status
        self.message = message
        self.error = error or _reason(status)
        self.code = code if code is not None else status


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_")
    except ValueError:
        return "error"


def ok(data: Any = None, message: str = "ok", status: int = 200) -> web.Response:
    return web.json_response({"code": 0, "message": message, "data": data}, status=status, dumps=dumps_json)


def error_response(
    status: int, message: str, error: str | None = None, code: int | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "code": code if code is not None else status,
        "message": message,
        "error": error or _reason(status),
        "data": None,
    }
    return web.json_response(body, status=status, dumps=dumps_json, headers=headers)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def dumps_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=_default)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.error, exc.code, exc.headers)
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(413, exc.text or "body too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
        return error_response(exc.status, message or exc.reason)
    except Exception:
        log.exception("unhandled error", method=request.method, path=request.path)
        return error_response(500, "internal error; it has been logged", "internal_error")


B = TypeVar("B", bound=BaseModel)


async def read_body(request: web.Request, model: type[B]) -> B:
    """The JSON body as `model`: 400 `malformed_body` if it is not JSON, 400 `invalid_request` naming the
    field if it does not fit."""
    try:
        raw: Any = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}", error="malformed_body") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, describe_validation_error(exc), error="invalid_request") from exc
