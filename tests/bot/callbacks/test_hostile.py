"""Hostile and broken callback bodies (issue 12's reproductions), through the real app on both databases.

Each once lost messages or answered 5xx: one bad value failed its whole group-commit batch (the innocent
callbacks beside it got 503 and were lost), or a body crashed the reader. Now a bad value is cleaned or
refused alone, and every unreadable body is a 4xx.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from models.callbacks import ResultCallback
from models.messages import InboundMessage
from models.robots import RobotStatusEvent
from tests.bot.callbacks.test_routes import msg, url

Client = TestClient[Any, Any]
JSON = {"Content-Type": "application/json"}
MAX_CHARS = 64 * 1024  # ingest.max_spoken_chars in config.yaml


def body_of(fields: dict[str, Any]) -> bytes:
    # ensure_ascii: a lone surrogate goes out as the escape \ud800, as a Java client would send it.
    return json.dumps(fields, ensure_ascii=True, allow_nan=True).encode()


# name -> (the poisoned callback's body, HTTP status, what the stored row must show or the 400 must say)
POISONS: dict[str, tuple[bytes, int, str]] = {
    "textType beyond 64 bits": (body_of(msg("毒1", textType=2**70)), 400, "textType"),
    "textType beyond int32": (body_of(msg("毒2", textType=2**31)), 400, "textType"),
    "NUL in spoken": (body_of(msg("毒3\x00药")), 200, "spoken"),
    "NUL in the sender": (body_of(msg("毒4", sender="号\x00主")), 200, "receivedName"),
    "NUL in an unknown field": (body_of(msg("毒5", note="a\x00b")), 200, "note"),
    "NUL in an unknown key": (body_of(msg("毒6", **{"no\x00te": "x"})), 200, "no\ufffdte"),
    "NUL nested in an unknown field": (body_of(msg("毒7", meta={"list": ["ok", "a\x00"]})), 200, "meta.list[1]"),
    "lone surrogate in spoken": (body_of(msg("毒8\ud800")), 200, "spoken"),
    "lone surrogate in an unknown field": (body_of(msg("毒9", fileName="\udc00.png")), 200, "fileName"),
    "Infinity in an unknown field": (body_of(msg("毒10", timeCost=float("inf"))), 200, "timeCost"),
    "NaN in an unknown field": (body_of(msg("毒11", score=float("nan"))), 200, "score"),
    "1e400 in an unknown field": (body_of(msg("毒12"))[:-1] + b', "size": 1e400}', 200, "size"),
    "integer beyond 64 bits in an unknown field": (body_of(msg("毒13", seq=10**30)), 200, "seq"),
}


def payload_of(row: InboundMessage) -> dict[str, Any]:
    payload: dict[str, Any] = row.payload
    return payload


def cleaned(row: InboundMessage) -> dict[str, Any]:
    """What ingest changed to store the callback (CLEANED_KEY of its payload)."""
    record: dict[str, Any] = payload_of(row)["hubCleaned"]
    return record


async def post_raw(client: Client, body: bytes, kind: str = "message", **headers: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post(url(kind=kind), data=body, headers={**JSON, **headers})
    return resp.status, await resp.json()


async def test_a_poisoned_callback_costs_only_itself(client: Client) -> None:
    stored = 0
    for round_no, (poison, (body, status, where)) in enumerate(POISONS.items()):
        bodies = [body_of(msg(f"无辜的消息 {round_no}-{i}", sender=f"客户{i}")) for i in range(20)]
        bodies[9] = body  # in the middle of what the writer commits together
        answers = await asyncio.gather(*(post_raw(client, b) for b in bodies))
        innocents = [a for i, a in enumerate(answers) if i != 9]
        assert [s for s, _ in innocents] == [200] * 19, (poison, innocents)
        stored += 19
        texts = set(await InboundMessage.all().values_list("text", flat=True))
        assert {f"无辜的消息 {round_no}-{i}" for i in range(20) if i != 9} <= texts
        got_status, answer = answers[9]
        assert got_status == status, (poison, answer)
        if status == 400:
            assert where in answer["message"], poison
        else:
            row = await InboundMessage.get(id=answer["messageId"])
            assert where in cleaned(row), poison  # what was changed, and how to recover it
            stored += 1
        assert await InboundMessage.all().count() == stored, poison  # nothing of a refused callback


async def test_a_cleaned_text_keeps_its_original_recoverable(client: Client) -> None:
    status, answer = await post_raw(client, body_of(msg("a\x00b\ud800c", note="\x00")))
    assert status == 200, answer
    row = await InboundMessage.get(id=answer["messageId"])
    assert row.text == "a\ufffdb\ufffdc"
    assert payload_of(row)["spoken"] == "a\ufffdb\ufffdc"
    assert cleaned(row)["spoken"] == {"replaced": [[1, 0], [3, 0xD800]]}
    assert cleaned(row)["note"] == {"replaced": [[0, 0]]}
    restored = list(payload_of(row)["spoken"])
    for index, code in cleaned(row)["spoken"]["replaced"]:
        restored[index] = chr(code)
    assert "".join(restored) == "a\x00b\ud800c"


async def test_multipart_bodies_are_read_on_every_callback(client: Client) -> None:
    message = {"spoken": "多部分表单", "receivedName": "号主C", "groupName": "客户群3", "roomType": "1"}
    result = {"messageId": "cmd-1", "errorCode": "0", "errorReason": ""}
    for kind, fields in (("message", message), ("result", result), ("status", {"online": "true"})):
        resp = await client.post(url(kind=kind), data=FormData(fields, default_to_multipart=True))
        assert resp.status == 200, (kind, await resp.text())
        if kind == "message":
            row = await InboundMessage.get(id=(await resp.json())["messageId"])
            assert (row.text, row.sender_name, row.room_type) == ("多部分表单", "号主C", 1)
    assert (await ResultCallback.get()).message_id == "cmd-1"
    assert await RobotStatusEvent.filter(source="callback").count() == 1
    resp = await client.post(
        url(), data=b"--x\r\nno headers here", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert resp.status == 400
    assert "multipart" in (await resp.json())["message"]


DEEP = b'{"receivedName": "a", "groupName": "g", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
NESTED_40 = b'{"receivedName": "a", "groupName": "g", "x": ' + b"[" * 40 + b"]" * 40 + b"}"
DIGITS = b"1" + b"0" * 4999


CRASHED_THE_READER = [
    (DEEP, "nested deeper than"),
    (b"[" * 5000 + b"]" * 5000, "nested deeper than"),
    (NESTED_40, "nested deeper than 32 levels"),
    (b'{"receivedName": "a", "groupName": "g", "textType": ' + DIGITS + b"}", "too many digits"),
    (b'{"receivedName": "a", "groupName": "g", "x": ' + DIGITS + b"}", "too many digits"),
    (b'\xff\xfe{\x00"\x00}\x00', "not UTF-8"),
]


async def test_bodies_that_crashed_the_reader_are_400(client: Client) -> None:
    for body, words in CRASHED_THE_READER:
        status, answer = await post_raw(client, body)
        assert status == 400, answer
        assert answer["error"] in {"malformed_body", "invalid_callback"}
        assert words in answer["message"], answer
    assert await InboundMessage.all().count() == 0


async def test_other_callbacks_never_5xx_on_such_bodies(client: Client) -> None:
    bodies = [body for body, _ in CRASHED_THE_READER] + [b'{"x": "a\\u0000", "y\\u0000": "\\ud800", "z": NaN}']
    for kind in ("result", "status"):
        for body in bodies:
            status, answer = await post_raw(client, body, kind=kind)
            assert status < 500, (kind, body[:60], answer)


async def test_a_nul_in_a_status_body_is_stored(client: Client) -> None:
    status, answer = await post_raw(client, b'{"online": true, "note": "a\\u0000b"}', kind="status")
    assert status == 200, answer
    event = await RobotStatusEvent.get(source="callback")
    assert "\x00" not in json.dumps(event.payload)


async def test_a_huge_spoken_is_stored_once_and_truncated(client: Client) -> None:
    spoken = "long " * 1_800_000  # 9 MB
    body = body_of(msg(spoken, rawSpoken=None))
    resp = await client.post(url(), data=io.BytesIO(body), headers=JSON)
    assert resp.status == 200, await resp.text()
    row = await InboundMessage.get(id=(await resp.json())["messageId"])
    assert row.text == spoken[:MAX_CHARS]
    assert row.raw_text == spoken[:MAX_CHARS]
    assert len(payload_of(row)["spoken"]) == MAX_CHARS
    assert cleaned(row)["spoken"] == {"truncatedFrom": 9_000_000}
    assert len(json.dumps(row.payload, ensure_ascii=False)) < MAX_CHARS + 1000  # not the 9 MB text again


async def test_image_data_is_stored_once_even_past_the_text_limit(client: Client) -> None:
    image = "iVBORw0KGgo" * 20_000  # 220 K characters: bounded by server.max_body_bytes, not by the text limit
    as_json = {"json": msg("", sender="发图的人", textType=2, fileBase64=image)}
    as_form = {"data": msg("", sender="发图的人2", textType=2, fileBase64=image)}
    for send in (as_json, as_form):
        resp = await client.post(url(), **send)  # type: ignore[arg-type]
        assert resp.status == 200, await resp.text()
        row = await InboundMessage.get(id=(await resp.json())["messageId"])
        assert row.file_base64 == image
        assert "fileBase64" not in row.payload
        assert row.payload["fileBase64Length"] == len(image)
        assert image not in (row.text, row.raw_text)
        await row.delete()
