"""The JSON envelope (DESIGN §4.2) and the one place exceptions become error responses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any, Final, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot import limits
from bot.callbacks.payloads import describe_validation_error
from bot.unavailable import unavailability

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


RETRY_DELAYS_S: Final = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)  # waits between runs of a request hit by contention
RETRY_BUDGET_S: Final = 2.0  # ... as long as the request is this young; then 503
RETRY_AFTER_S: Final = 1
MAX_JSON_DEPTH: Final = 32  # API bodies nest 3 levels; anything deeper is refused before validation
MAX_JSON_INT: Final = limits.BIGINT.max  # no API number is wider than a BIGINT column


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as the JSON envelope: input problems 4xx, a backing service that cannot take the
    request now 503 + Retry-After (API requests are first run again while SQLite's write lock is
    contended), and only a real fault 500, logged with its traceback."""
    try:
        if request.path.startswith("/api/"):
            _check_query(request)
            return await _retrying_contention(request, handler)
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.error, exc.code, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(request, exc)
    except Exception as exc:  # noqa: BLE001 - the one place every other failure becomes an answer (logged there)
        return _failure(request, exc)


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return error_response(413, exc.text or "body too large")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        message = f"method {exc.method} is not allowed on {request.path}; allowed: {allowed}"
        return error_response(405, message, headers={"Allow": allowed})
    message = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
    return error_response(exc.status, message or exc.reason)


def _failure(request: web.Request, exc: Exception) -> web.Response:
    kind = unavailability(exc)
    if kind is None:
        log.exception("unhandled error", method=request.method, path=request.path)
        return error_response(500, "internal error; it has been logged", "internal_error")
    log.warning("service unavailable", method=request.method, path=request.path, kind=kind, error=repr(exc))
    # Contention fails the handler's one transaction, so nothing was written; an outage may strike after a
    # commit (Redis, woken once the row is stored), so the caller is not told that nothing changed.
    if kind == "contention":
        message = "the database is busy; nothing was changed, retry shortly"
    else:
        message = "the database or Redis is unavailable; retry shortly"
    return error_response(503, message, "unavailable", headers={"Retry-After": str(RETRY_AFTER_S)})


async def _retrying_contention(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run the handler again while it fails on write contention, within RETRY_BUDGET_S of the first try.

    Safe to repeat: a handler's writes are in a transaction that the failure rolled back, and the body it
    read is cached by the request. A failure that took the whole busy timeout (SQLite waits up to 5 s for
    the lock) leaves no budget: it is answered 503 at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_BUDGET_S
    for delay_s in RETRY_DELAYS_S:
        try:
            return await handler(request)
        except (ApiError, web.HTTPException):
            raise
        except Exception as exc:
            if unavailability(exc) != "contention" or loop.time() + delay_s >= deadline:
                raise
            log.info("write contention; the request is run again", path=request.path, delay_s=delay_s)
        await asyncio.sleep(delay_s)
    return await handler(request)


def _check_query(request: web.Request) -> None:
    for name, value in request.query.items():
        if "\x00" in value:  # PostgreSQL text cannot hold it
            raise ApiError(400, f"query parameter {name} contains a NUL character", error="bad_parameter")


B = TypeVar("B", bound=BaseModel)


async def read_body(request: web.Request, model: type[B]) -> B:
    """The JSON body as `model`: 400 `malformed_body` if it is not JSON within the bounds above, 400
    `invalid_request` naming the field if it does not fit."""
    body = await request.read()  # 413 past client_max_size
    try:
        raw: Any = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)  # JSON is UTF-8 (RFC 8259)
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"body is not UTF-8: {exc}", error="malformed_body") from exc
    except RecursionError as exc:
        raise ApiError(400, f"body nests deeper than {MAX_JSON_DEPTH} levels", error="malformed_body") from exc
    except ValueError as exc:
        what = "an integer has more than 4300 digits" if "digits" in str(exc) else str(exc)
        raise ApiError(400, f"body is not valid JSON: {what}", error="malformed_body") from exc
    if (problem := json_problem(raw)) is not None:
        raise ApiError(400, problem, error="malformed_body")
    if not isinstance(raw, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(raw), "a number")
        raise ApiError(400, f"body must be a JSON object, got {kind}", error="invalid_request")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, describe_validation_error(exc), error="invalid_request") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_problem(value: Any) -> str | None:
    """What makes a parsed JSON value unfit to handle or store, naming where: nesting deeper than
    MAX_JSON_DEPTH, an integer wider than a BIGINT, a NUL or a lone surrogate in a string. Iterative, so a
    deep value cannot exhaust the stack."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"body nests deeper than {MAX_JSON_DEPTH} levels (at {where or 'the top'})"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                path = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and (text_problem := _text_problem(key)):
                    return f"a key in {where or 'the body'} {text_problem}"
                stack.append((child, path, depth + 1))
        elif isinstance(item, str):
            if text_problem := _text_problem(item):
                return f"{where or 'body'}: {text_problem}"
        elif isinstance(item, int) and not isinstance(item, bool) and not -MAX_JSON_INT <= item <= MAX_JSON_INT:
            return f"{where or 'body'}: integer out of range (at most {MAX_JSON_INT} in size)"
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None
