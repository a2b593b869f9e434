"""WorkTool → us: `POST /worktool/{robot_id}/message|result|status?token=…`.

A thin webhook: verify → parse → dedup + store (group commit) → 200. The pipeline runs in the worker.
"""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from aiohttp import hdrs, web
from pydantic import ValidationError
from tortoise.exceptions import OperationalError

from bot.api.envelope import ApiError, dumps_json
from bot.callbacks.cleaning import TooDeep, clean_fields
from bot.callbacks.payloads import (
    MalformedBody,
    MessageCallback,
    ResultCallback,
    decode_body,
    describe_validation_error,
)
from bot.callbacks.status import online_of_kind, read_status_body
from bot.callbacks.storable import MAX_KEPT_CHARS, UNREADABLE_BODY, storable
from bot.commands.results import match_result
from bot.ingest.incoming import normalise
from bot.ingest.writer import IngestRefused, IngestUnavailable
from bot.keys import CLOCK, OUTCOMES, SETTINGS, WRITER
from bot.metrics import count_callbacks
from models.callbacks import ResultCallback as ResultCallbackRow
from models.robots import Robot, record_online

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


def ack(message: str, **extra: Any) -> web.Response:
    # WorkTool's binding check wants HTTP 200 with a JSON body; code 0 means accepted.
    return web.json_response({"code": 0, "message": message, **extra}, dumps=dumps_json)


def _check_access(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    robot_id = request.match_info["robot_id"]
    expected = settings.worktool.callback_token
    presented = request.query.get("token", "")
    if expected is None or not hmac.compare_digest(presented.encode(), expected.get_secret_value().encode()):
        raise ApiError(401, "missing or wrong ?token= for the callback URL", error="unauthorized")
    if settings.robot(robot_id) is None:
        raise ApiError(404, f"unknown robot {robot_id!r}: register it under worktool.robots", error="unknown_robot")
    return robot_id


async def _read_fields(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """The body's fields made storable (bot/callbacks/cleaning.py records what changed), and its text when
    it was a JSON object that can be stored as is. Every unreadable body is a 400, never a 5xx."""
    body = await request.read()  # raises 413 past client_max_size; read once, multipart included
    try:
        fields = decode_body(body, request.content_type, request.headers.get(hdrs.CONTENT_TYPE, ""))
        fields, changed = clean_fields(fields, request.app[SETTINGS].ingest.max_spoken_chars)
    except (MalformedBody, TooDeep) as exc:
        raise ApiError(400, str(exc), error="malformed_body") from exc
    # decode_body read a JSON body as UTF-8 already.
    return fields, (body.decode() if not changed and body.lstrip()[:1] == b"{" else None)


def _message_from_json(body: bytes) -> MessageCallback | None:
    """The hot path: pydantic parses and validates a JSON body in one pass. None: not a JSON object, let
    decode_body say precisely what is wrong."""
    try:
        return MessageCallback.model_validate_json(body)
    except ValidationError as exc:
        if any(err["type"] in ("json_invalid", "model_type", "json_type") for err in exc.errors()):
            return None
        raise ApiError(400, describe_validation_error(exc), error="invalid_callback") from exc


@routes.post("/worktool/{robot_id}/message")
@count_callbacks("message")
async def message_callback(request: web.Request) -> web.Response:
    robot_id = _check_access(request)
    body = await request.read()  # raises 413 past client_max_size
    fields: dict[str, Any] | None = None
    body_json: str | None = None
    callback = _message_from_json(body) if body.lstrip()[:1] == b"{" else None
    if callback is not None:
        body_json = body.decode()
    else:
        fields, body_json = await _read_fields(request)
        try:
            callback = MessageCallback.model_validate(fields)
        except ValidationError as exc:
            raise ApiError(400, describe_validation_error(exc), error="invalid_callback") from exc
    if callback.is_binding_test:
        log.info("callback binding test received", robot_id=robot_id)
        return ack("callback bound")
    now = request.app[CLOCK].now()
    max_chars = request.app[SETTINGS].ingest.max_spoken_chars
    try:
        incoming = normalise(robot_id, callback, now, fields, body_json, max_text_chars=max_chars)
    except ValueError as exc:
        raise ApiError(400, str(exc), error="invalid_callback") from exc
    try:
        stored = await request.app[WRITER].submit(incoming)
    except IngestUnavailable as exc:
        raise ApiError(503, f"database unavailable, message not stored: {exc}", error="unavailable") from exc
    except IngestRefused as exc:  # its neighbours in the batch were stored
        raise ApiError(400, f"the database cannot store this message: {exc}", error="invalid_callback") from exc
    # Built by hand: this is the hot path and the shape never changes.
    duplicate = "false" if stored.verdict == "new" else "true"
    return web.Response(
        text=f'{{"code":0,"message":"参数接收成功","messageId":{stored.message_id},"duplicate":{duplicate}}}',
        content_type="application/json",
    )


@routes.post("/worktool/{robot_id}/result")
@count_callbacks("result")
async def result_callback(request: web.Request) -> web.Response:
    """Fired once and never retried: refused only for a bad token or an unknown robot. Whatever the body,
    it is stored (cleaned only where a database could not store it) before anything else happens."""
    robot_id = _check_access(request)
    try:
        fields, _ = await _read_fields(request)
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 413:
            raise
        body = await request.read()
        fields = {UNREADABLE_BODY: body[:MAX_KEPT_CHARS].decode("utf-8", "replace"), "error": exc.message}
    payload = storable(fields)
    result = ResultCallback.model_validate(payload)
    now = request.app[CLOCK].now()
    try:
        row = await ResultCallbackRow.create(
            robot_id=robot_id,
            message_id=result.message_id or "",
            error_code=result.error_code,
            received_at=now,
            payload=payload,
        )
    except (OperationalError, OSError) as exc:
        raise ApiError(503, f"database unavailable, result not stored: {exc}", error="unavailable") from exc
    log.info(
        "result callback stored",
        robot_id=robot_id,
        result_id=row.id,
        command_message_id=result.message_id,
        error_code=result.error_code,
    )
    try:
        await match_result(row, now, request.app[OUTCOMES])
    except Exception:  # stored: the sweeper matches it later; WorkTool must still get its 200
        log.exception("result callback not matched yet", result_id=row.id, robot_id=robot_id)
    return ack("ok")


@routes.post("/worktool/{robot_id}/status")
@count_callbacks("status")
async def status_callback(request: web.Request) -> web.Response:
    """Types 5/6. Refused only for a bad token or an unknown robot: any body (JSON, a WeCom webhook text,
    a form, nothing) is kept; `?kind=online|offline` (as `hub worktool bind` binds them) says which it is."""
    robot_id = _check_access(request)
    kind = request.query.get("kind")
    body = await read_status_body(request)
    online = _online_flag(kind, body.fields)
    robot = await Robot.get(id=robot_id)
    await record_online(robot, online, request.app[CLOCK].now(), source="callback", payload=body.fields)
    log.info(
        "robot status callback",
        robot_id=robot_id,
        online=online,
        kind=kind,
        body_bytes=body.size,
        body_excerpt=body.excerpt,
    )
    return ack("ok")


def _online_flag(kind: str | None, fields: dict[str, Any]) -> bool | None:
    """The URL's kind first; else an explicit flag in the body; None when neither says (a webhook text)."""
    by_kind = online_of_kind(kind)
    if by_kind is not None:
        return by_kind
    for key in ("online", "status", "type"):
        value = fields.get(key)
        if value in (True, "true", 5, "5", "online"):
            return True
        if value in (False, "false", 6, "6", "offline"):
            return False
    return None
