"""A message callback normalised for storage: which conversation, who, what, and its dedup fingerprint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple

from tortoise.fields.data import JSON_DUMPS

from bot.callbacks.cleaning import TooDeep, clean_fields, is_plain
from bot.callbacks.payloads import MessageCallback

ConversationKind = Literal["group", "private"]
GROUP_ROOM_TYPES: Final = frozenset({1, 3})
PRIVATE_ROOM_TYPES: Final = frozenset({2, 4})
MAX_TEXT_CHARS: Final = 64 * 1024  # ingest.max_spoken_chars' default


# NamedTuples, not frozen dataclasses: both are built for every callback, and a frozen dataclass's
# __init__ (one object.__setattr__ per field) cost three times as much (scripts/bench_ingest.py).
class ConversationRef(NamedTuple):
    kind: ConversationKind
    key: str  # groupRemark || groupName for groups, the contact's name for private chats
    name: str  # the display name as sent (groupName), kept for rename history
    room_type: int


class Incoming(NamedTuple):
    robot_id: str
    conversation: ConversationRef
    sender: str
    text: str
    raw_text: str
    text_type: int
    at_me: bool
    external_id: str | None
    content_hash: str
    received_at: datetime
    payload_json: str  # `payload` as stored: the body text itself when it was JSON without image data
    file_base64: str | None
    file_key: str = ""  # digest of the file fields (image data, file name/path); "" when there are none

    @property
    def has_content(self) -> bool:
        """Whether there is anything to recognise the message by besides who sent it and when: an image
        callback without image data (the phone's image switch is off) carries an empty `spoken` and no file."""
        return bool(self.raw_text.strip() or self.file_key)


def conversation_of(callback: MessageCallback) -> ConversationRef:
    room_type = callback.room_type
    if room_type in GROUP_ROOM_TYPES:
        kind: ConversationKind = "group"
    elif room_type in PRIVATE_ROOM_TYPES:
        kind = "private"
    else:  # 0 / unknown: a group name means a group
        kind = "group" if callback.group_name else "private"
    if kind == "group":
        name = callback.group_name or (callback.group_remark or "")
        key = callback.group_remark or callback.group_name
        if not key:
            raise ValueError("groupName: a group message needs groupName or groupRemark")
        return ConversationRef(kind, key, name, room_type)
    return ConversationRef(kind, callback.received_name, callback.received_name, room_type)


FILE_FIELDS: Final = ("fileName", "filePath", "fileUrl", "fileMd5")  # seen or plausible beside fileBase64


def file_key(callback: MessageCallback) -> str:
    """A digest of what a file or image message carries, so three different screenshots sent within a
    second (empty `spoken`, `messageId` ""): are three messages, and two robots' reports of one image
    still agree. "" when the callback has no file fields."""
    extra = callback.__pydantic_extra__ or {}
    names = [str(extra[name]) for name in FILE_FIELDS if extra.get(name)]
    if not callback.file_base64 and not names:
        return ""
    digest = hashlib.blake2b(digest_size=16)
    digest.update((callback.file_base64 or "").encode())
    for name in names:
        digest.update(b"\x1f" + name.encode())
    return digest.hexdigest()


def content_hash(conversation: ConversationRef, sender: str, raw_text: str, text_type: int, files: str = "") -> str:
    """Fingerprint of (conversation, sender, text, file content): the same message seen by several robots
    hashes alike.

    Uses rawSpoken: `spoken` drops the @ of whichever robot received it, so it differs between robots.
    """
    parts = (conversation.kind, conversation.key, sender, str(text_type), raw_text)
    material = "\x1f".join((*parts, files) if files else parts)
    return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()


def normalise(
    robot_id: str,
    callback: MessageCallback,
    received_at: datetime,
    raw: Mapping[str, Any] | None = None,
    raw_json: str | None = None,
    *,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> Incoming:
    """`raw`: the body as received, `raw_json` its text when it was JSON (kept verbatim, minus any
    image data, which gets its own column). Every value is made storable first (bot/callbacks/cleaning.py),
    so this callback cannot fail the batch it joins; raises ValueError for a body that cannot be."""
    if not _storable_as_is(callback, raw_json, max_text_chars):
        callback, raw, changed = _cleaned(callback, raw, raw_json, max_text_chars)
        if changed:
            raw_json = None  # the verbatim text holds what could not be stored
    conversation = conversation_of(callback)
    files = file_key(callback)
    raw_text = callback.raw_spoken if callback.raw_spoken is not None else callback.spoken
    file_base64 = callback.file_base64 or None
    payload_json = raw_json
    if payload_json is None or file_base64:  # re-encode: no JSON text, or image data to take out
        if raw is None:
            raw = (
                json.loads(raw_json) if raw_json is not None else callback.model_dump(by_alias=True, exclude_none=True)
            )
        payload = {k: v for k, v in raw.items() if k != "fileBase64"}
        if file_base64:
            payload["fileBase64Length"] = len(file_base64)
        payload_json = JSON_DUMPS(payload)
    return Incoming(
        robot_id=robot_id,
        conversation=conversation,
        sender=callback.received_name,
        text=callback.spoken,
        raw_text=raw_text,
        text_type=callback.text_type,
        at_me=callback.at_me,
        external_id=callback.external_id,
        content_hash=content_hash(conversation, callback.received_name, raw_text, callback.text_type, files),
        received_at=received_at,
        payload_json=payload_json,
        file_base64=file_base64,
        file_key=files,
    )


def _storable_as_is(callback: MessageCallback, raw_json: str | None, max_chars: int) -> bool:
    """The hot path's check, a few hundred nanoseconds: a JSON body no longer than `max_chars` (so no text
    in it is longer), without \\u escapes (the only way a NUL or a lone surrogate gets into valid JSON),
    whose unknown fields are plain scalars (no non-finite or 64-bit-overflowing numbers, no nesting)."""
    if raw_json is None or len(raw_json) > max_chars or "\\u" in raw_json:
        return False
    extra = callback.__pydantic_extra__
    return not extra or all(is_plain(value) for value in extra.values())


def _cleaned(
    callback: MessageCallback, raw: Mapping[str, Any] | None, raw_json: str | None, max_chars: int
) -> tuple[MessageCallback, dict[str, Any], bool]:
    """The callback and its payload from cleaned values (the record of changes in the payload), and
    whether anything changed."""
    if raw is None:
        raw = json.loads(raw_json) if raw_json is not None else callback.model_dump(by_alias=True, exclude_none=True)
    try:
        fields, changed = clean_fields(raw, max_chars)
    except TooDeep as exc:
        raise ValueError(str(exc)) from exc
    if not changed:
        return callback, fields, False
    # Validated again from the cleaned values: U+FFFD keeps every length, truncation only shortens.
    return MessageCallback.model_validate(fields), fields, True
