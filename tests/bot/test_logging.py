"""Payloads reach the logs truncated and redacted, whoever logs them (issue 12: a 5 MB status body grew the
log by 5 MB, and a customer's phone number landed in it)."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from bot.logging import LOGGED_PAYLOAD_CHARS, redact, redact_payloads


@pytest.mark.parametrize(
    ("value", "kept", "gone"),
    [
        ("call me on 13812345678 please", "[phone]", "13812345678"),
        ("or 138 1234 5678", "[phone]", "1234 5678"),
        ({"spoken": "我的电话13912345678"}, "[phone]", "13912345678"),
        ("landline 010-62345678, card 6222021234567890123", "[digits]", "62345678"),
        ("http://hub/worktool/r/message?token=s3cr3t-t0ken&x=1", "token=***", "s3cr3t"),
        ({"token": "s3cr3t-t0ken"}, '"token": "***"', "s3cr3t"),
        ("Authorization: Bearer abc.def-ghi", "Bearer ***", "abc.def"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", "key=***", "693a91f6"),
    ],
)
def test_numbers_and_secrets_are_masked(value: object, kept: str, gone: str) -> None:
    text = redact(value)
    assert kept in text
    assert gone not in text


def test_a_huge_payload_is_cut_without_rendering_all_of_it() -> None:
    text = redact("长" * 5_000_000)
    assert len(text) < LOGGED_PAYLOAD_CHARS + 30
    assert text.endswith("…[5000000 chars]")
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    assert len(redact({"deep": deep, "big": 10**5000, "nan": float("nan"), "blob": b"\x00" * 10**6})) < 600


def test_the_processor_redacts_payload_keys_of_every_log_line() -> None:
    out = io.StringIO()
    structlog.configure(
        processors=[redact_payloads, structlog.processors.JSONRenderer(ensure_ascii=False)],
        logger_factory=structlog.PrintLoggerFactory(file=out),
    )
    try:
        body = {"spoken": "电话13812345678 " + "x" * 5_000_000, "fileBase64": "A" * 1_000_000}
        structlog.get_logger("t").info("robot status callback", payload=body, robot_id="wt-robot-1")
        structlog.get_logger("t").warning("unreadable row", row={"phone": "13812345678"}, error="kept as is")
    finally:
        structlog.reset_defaults()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert len(first["payload"]) <= LOGGED_PAYLOAD_CHARS + 1
    assert "13812345678" not in out.getvalue()
    assert first["robot_id"] == "wt-robot-1"  # other keys untouched
    assert second["row"] == '{"phone": "[phone]"}'
    assert second["error"] == "kept as is"
