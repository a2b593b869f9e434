"""Callback bodies as WorkTool really sends them: JSON or form, `atMe` as bool or string, optional fields.

Every model keeps unknown fields (`extra="allow"`): the raw payload is stored as received.
"""

from __future__ import annotations

import email
import email.message
import json
import math
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from bot import limits
from bot.callbacks.cleaning import MAX_DEPTH
from bot.callbacks.storable import clean_text, int32_or_none, storable

MAX_NAME_CHARS: Final = limits.NAME_CHARS
BINDING_TEST_NAME: Final = "WorkTool"


class MalformedBody(ValueError):
    """The body cannot be read as a callback; the message says exactly what is wrong."""


def _lenient_bool(value: Any) -> Any:
    # WorkTool sends atMe as the strings "true"/"false" (doc example, binding test, form mode).
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        raise ValueError(f'expected true/false (bool or the strings "true"/"false"), got {value!r}')
    if value is None:
        return False
    return value


def _int_or_str_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a string id, got a boolean")  # noqa: TRY004 - pydantic wants ValueError
    if isinstance(value, int):
        return str(value)
    return value


LenientBool = Annotated[bool, BeforeValidator(_lenient_bool)]
OptionalId = Annotated[str | None, BeforeValidator(_int_or_str_to_str)]
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]


class MessageCallback(BaseModel):
    """The message ("QA") callback. `spoken` has the @robot part removed; `rawSpoken` is the original."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=False)

    spoken: str = ""
    raw_spoken: str | None = Field(default=None, alias="rawSpoken")
    received_name: Name = Field(alias="receivedName", min_length=1)
    group_name: Name = Field(default="", alias="groupName")
    group_remark: Name | None = Field(default=None, alias="groupRemark")
    room_type: int = Field(default=0, alias="roomType", ge=0, le=99)
    at_me: LenientBool = Field(default=False, alias="atMe")
    text_type: int = Field(default=1, alias="textType", ge=limits.INT32.min, le=limits.INT32.max)  # an INT column
    message_id: OptionalId = Field(default=None, alias="messageId", max_length=limits.EXTERNAL_ID_CHARS)
    msg_id: OptionalId = Field(default=None, alias="msgId", max_length=limits.EXTERNAL_ID_CHARS)
    file_base64: str | None = Field(default=None, alias="fileBase64")

    @property
    def external_id(self) -> str | None:
        return self.message_id or self.msg_id or None

    @property
    def is_binding_test(self) -> bool:
        # The POST WorkTool sends when a callback URL is bound; it must get a 200 and is not a chat message.
        return self.received_name == BINDING_TEST_NAME and self.group_name == BINDING_TEST_NAME


def _tolerant(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # A result callback is fired once: a field we cannot read becomes None (the raw body keeps it).
    try:
        return handler(value)
    except ValidationError:
        return None


def _result_id(value: Any) -> Any:
    value = _int_or_str_to_str(value)
    if isinstance(value, str):
        value = value.strip()
        return value if 0 < len(value) <= limits.EXTERNAL_ID_CHARS else None
    return None


def _target_list(value: Any) -> list[str] | None:
    """successList/failList as WorkTool sends them: a list, JSON text (form mode, rawMsg/list), or
    comma-separated text. Anything else is unknown (None); the raw body keeps it."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                return None
        else:
            return [clean_text(part.strip()) for part in text.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str | int) and not isinstance(item, bool) for item in value):
        return [clean_text(str(item)) for item in value]
    return None


def _raw_msg(value: Any) -> str | None:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):  # an object instead of its JSON text
        return json.dumps(storable(value), ensure_ascii=False)
    return None


def _reason(value: Any) -> str:
    if value is None:
        return ""
    return clean_text(value if isinstance(value, str) else json.dumps(storable(value), ensure_ascii=False))


def _finite(value: Any) -> Any:
    if isinstance(value, str):  # form mode sends numbers as text
        try:
            value = float(value.strip())
        except ValueError:
            return None
    return value if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


Tolerant = WrapValidator(_tolerant)


class ResultCallback(BaseModel):
    """A command-result callback (fired once per executed command, never retried by WorkTool).

    Never refuses a body: every field is read leniently, and one it cannot read is None — the row keeps
    the raw body. Form mode (`callBackRequestType` 1) sends the lists as JSON text and numbers as strings.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message_id: Annotated[str | None, BeforeValidator(_result_id)] = Field(default=None, alias="messageId")
    error_code: Annotated[int | None, BeforeValidator(int32_or_none)] = Field(default=None, alias="errorCode")
    error_reason: Annotated[str, BeforeValidator(_reason)] = Field(default="", alias="errorReason")
    run_time: Annotated[int | None, Tolerant] = Field(default=None, alias="runTime", ge=0, le=limits.BIGINT.max)
    time_cost: Annotated[float | None, BeforeValidator(_finite), Tolerant] = Field(default=None, alias="timeCost")
    type: Annotated[int | None, BeforeValidator(int32_or_none)] = None
    raw_msg: Annotated[str | None, BeforeValidator(_raw_msg)] = Field(default=None, alias="rawMsg")
    success_list: Annotated[list[str] | None, BeforeValidator(_target_list)] = Field(default=None, alias="successList")
    fail_list: Annotated[list[str] | None, BeforeValidator(_target_list)] = Field(default=None, alias="failList")


def decode_body(body: bytes, content_type: str, content_type_header: str = "") -> dict[str, Any]:
    """A JSON object, a form or a multipart form as a dict. Form values stay strings (the models coerce
    them). `content_type_header`: the whole header, for a multipart body's boundary."""
    if not body.strip():
        raise MalformedBody("empty body: expected a JSON object or a form")
    if content_type == "multipart/form-data":
        return _multipart_fields(body, content_type_header or content_type)
    looks_json = content_type == "application/json" or body.lstrip()[:1] in (b"{", b"[")
    if looks_json:
        try:
            data = json.loads(body.decode("utf-8"))  # JSON is UTF-8 (RFC 8259); json.loads(bytes) guesses
        except UnicodeDecodeError as exc:
            raise MalformedBody("body is not UTF-8") from exc
        except json.JSONDecodeError as exc:
            raise MalformedBody(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        except RecursionError as exc:
            raise MalformedBody(f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from exc
        except ValueError as exc:  # int(): more digits than Python converts (sys.get_int_max_str_digits)
            raise MalformedBody(f"invalid JSON: a number has too many digits ({exc})") from exc
        if not isinstance(data, dict):
            raise MalformedBody(f"expected a JSON object, got {type(data).__name__}")
        return data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody("body is not UTF-8") from exc
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        pairs = []
    if not pairs:
        raise MalformedBody(f"cannot read the body as JSON or a form (content type {content_type or 'missing'})")
    return dict(pairs)


def _multipart_fields(body: bytes, content_type_header: str) -> dict[str, Any]:
    """The text fields of a multipart/form-data body (file parts are no callback field), parsed from the
    bytes already read: aiohttp's request.post() would read the consumed stream a second time."""
    head = f"Content-Type: {content_type_header}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.message_from_bytes(head + body)  # the compat32 parser never raises: it notes defects
    if not message.is_multipart():
        raise MalformedBody("multipart body without its boundary, or without parts")
    fields: dict[str, Any] = {}
    for part in message.get_payload():
        if not isinstance(part, email.message.Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue
        data = part.get_payload(decode=True)
        try:
            fields[name] = data.decode(part.get_content_charset() or "utf-8") if isinstance(data, bytes) else ""
        except (UnicodeDecodeError, LookupError) as exc:
            raise MalformedBody(f"multipart field {name!r} is not in its declared charset (or UTF-8)") from exc
    if not fields:
        raise MalformedBody("multipart body without form fields")
    return fields


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(body)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "is required"
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)
