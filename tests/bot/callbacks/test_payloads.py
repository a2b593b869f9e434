from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.callbacks.payloads import MalformedBody, MessageCallback, ResultCallback, decode_body

REPO_SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "worktool"


@pytest.mark.parametrize("value", [True, "true", "TRUE", " true ", "1"])
def test_at_me_truthy_forms(value: object) -> None:
    assert MessageCallback.model_validate({"receivedName": "a", "atMe": value}).at_me is True


@pytest.mark.parametrize("value", [False, "false", "False", "0", "", None])
def test_at_me_falsy_forms(value: object) -> None:
    assert MessageCallback.model_validate({"receivedName": "a", "atMe": value}).at_me is False


def test_at_me_garbage_is_rejected_with_the_field() -> None:
    with pytest.raises(ValidationError, match="atMe"):
        MessageCallback.model_validate({"receivedName": "a", "atMe": "maybe"})


def test_form_strings_are_coerced() -> None:
    fields = decode_body(
        b"spoken=hi&receivedName=%E4%BB%91%E5%93%A5&roomType=1&atMe=true&textType=15&groupName=g",
        "application/x-www-form-urlencoded",
    )
    callback = MessageCallback.model_validate(fields)
    assert (callback.received_name, callback.room_type, callback.at_me, callback.text_type) == ("仑哥", 1, True, 15)


def test_unknown_fields_are_kept_and_ids_normalised() -> None:
    callback = MessageCallback.model_validate({"receivedName": "a", "fileName": "", "messageId": 1784417250785046528})
    assert callback.external_id == "1784417250785046528"
    assert callback.model_dump(by_alias=True)["fileName"] == ""


def test_msg_id_is_a_fallback_for_message_id() -> None:
    assert MessageCallback.model_validate({"receivedName": "a", "msgId": "x1"}).external_id == "x1"


def test_binding_test_payload_is_recognised() -> None:
    data = json.loads((REPO_SAMPLES / "03_msg_callback_platform_bind_test_payload.json").read_text())
    assert MessageCallback.model_validate(data).is_binding_test


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "application/json", "empty body"),
        (b"{not json", "application/json", "invalid JSON: Expecting property name"),
        (b"[1, 2]", "application/json", "expected a JSON object, got list"),
        (b"\xff\xfe", "application/x-www-form-urlencoded", "not UTF-8"),
        (b"justtext", "text/plain", "cannot read the body as JSON or a form"),
    ],
)
def test_decode_body_says_what_is_wrong(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(MalformedBody, match=message):
        decode_body(body, content_type)


def test_result_callback_doc_example() -> None:
    data = json.loads((REPO_SAMPLES / "50_result_callback_doc_example.json").read_text())
    result = ResultCallback.model_validate(data)
    assert result.message_id
    assert result.fail_list is not None
