"""Property-based tests of the three callbacks on both databases (issue 12): whatever the body, never a 5xx;
nothing stored from a rejected request; every acknowledged message stored exactly once; the innocent
neighbours of a poisoned body, posted concurrently so that they share its group-commit batch, all stored
and acknowledged. Bounded (max_examples) so the file runs in well under a minute.

Run with `-s` to see the counts (inputs tried, 5xx, lost, duplicates) per test.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.callbacks import ResultCallback
from models.messages import InboundMessage
from models.robots import RobotStatusEvent
from tests.bot.callbacks.test_routes import msg, url

Client = TestClient[Any, Any]
# Some bodies are 200 KB: hypothesis warns about the size of their repr, which is no problem here.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
NEIGHBOURS = 19  # innocent callbacks posted together with each fuzzed one
FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
_serial = itertools.count()

# -- strategies: what WorkTool sends, what it might, and what an attacker would ----------------------------
odd_chars = st.sampled_from(["\x00", "\ud800", "\udfff", "\u2005", "😀", "\ufffd", "\\", '"', "%", "&", "=", "\n"])
texts = st.one_of(
    st.text(max_size=20),
    st.lists(st.one_of(st.text(max_size=4), odd_chars), max_size=6).map("".join),
    st.integers(2, 70_000).map(lambda n: "长" * n),  # past ingest.max_spoken_chars sometimes
)
names = st.one_of(st.text(min_size=1, max_size=12), texts, st.just("x" * 256), st.just(""))
numbers = st.one_of(
    st.integers(-5, 20),
    st.integers(),
    st.sampled_from([2**31, 2**63, 2**70, -(2**63) - 1, 10**30, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)
MESSAGE_FIELDS = {
    "spoken": texts,
    "rawSpoken": st.one_of(st.none(), texts),
    "receivedName": names,
    "groupName": st.one_of(names, st.none()),
    "groupRemark": st.one_of(st.none(), names),
    "roomType": st.one_of(st.sampled_from([0, 1, 2, 3, 4, "1", "4"]), scalars),
    "atMe": st.one_of(st.booleans(), st.sampled_from(["true", "false", "yes", "", "maybe"]), scalars),
    "textType": st.one_of(st.sampled_from([1, 2, 15, "1"]), scalars),
    "messageId": st.one_of(st.none(), st.text(max_size=24), st.integers(), st.just("m" * 129)),
    "fileBase64": st.one_of(st.none(), st.just("iVBORw0KGgo="), texts),
}
VALID_MESSAGE = st.fixed_dictionaries(
    {
        "spoken": st.text(max_size=30),
        "receivedName": st.text(min_size=1, max_size=12),
        "groupName": st.text(min_size=1, max_size=12),
        "roomType": st.sampled_from([1, 2, 3, 4]),
        "textType": st.sampled_from([1, 2, 15]),
    }
)
# Mostly nearly valid (a real message with odd texts or a few hostile fields: cleaned and stored, or refused
# alone), the rest anything at all.
TEXT_FIELDS = {k: MESSAGE_FIELDS[k] for k in ("spoken", "rawSpoken", "messageId", "fileBase64")}
message_fields = st.one_of(
    st.builds(lambda valid, odd: {**valid, **odd}, VALID_MESSAGE, st.fixed_dictionaries({}, optional=TEXT_FIELDS)),
    st.builds(lambda valid, odd: {**valid, **odd}, VALID_MESSAGE, st.fixed_dictionaries({}, optional=MESSAGE_FIELDS)),
    st.fixed_dictionaries({}, optional=MESSAGE_FIELDS),
)


def nested(depth: int) -> Any:
    value: Any = "底"
    for _ in range(depth):
        value = [value]
    return value


extra_fields = st.dictionaries(
    st.one_of(st.text(max_size=8), odd_chars),
    st.one_of(json_values, st.integers(20, 200).map(nested)),
    max_size=3,
)


def form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, allow_nan=True)


def encode(fields: dict[str, Any], how: str, cut: int, byte: int) -> tuple[bytes, str]:
    """The fields as a body the way `how` says, and its Content-Type."""
    as_json = json.dumps(fields, ensure_ascii=True, allow_nan=True).encode()  # lone surrogates as \udXXX
    if how == "json":
        return as_json, "application/json"
    if how == "form":
        pairs = [(k, form_value(v)) for k, v in fields.items()]
        return urlencode(pairs, errors="surrogatepass").encode(), "application/x-www-form-urlencoded"
    if how == "multipart":
        parts = [
            b'--b0undary\r\nContent-Disposition: form-data; name="'
            + k.encode("utf-8", "surrogatepass")
            + b'"\r\n\r\n'
            + form_value(v).encode("utf-8", "surrogatepass")
            + b"\r\n"
            for k, v in fields.items()
        ]
        return b"".join(parts) + b"--b0undary--\r\n", "multipart/form-data; boundary=b0undary"
    broken = bytearray(as_json[: cut % (len(as_json) + 1)])  # cut short, one byte changed
    if broken:
        broken[byte % len(broken)] = byte % 256
    return bytes(broken), "application/json"


@st.composite
def hostile_bodies(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> tuple[bytes, str]:
    fields = {**draw(base), **draw(extra_fields)}
    how = draw(st.sampled_from(["json", "json", "json", "form", "multipart", "broken", "deep"]))
    if how == "deep":  # built as text: json.dumps itself cannot nest thousands deep
        depth = draw(st.integers(20, 6000))
        return b'{"receivedName": "a", "groupName": "g", "x": ' + b"[" * depth + b"]" * depth + b"}", "application/json"
    return encode(fields, how, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)))


class Tally:
    """What a test saw across its examples, printed at its end (the figures for the report)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.acked: set[int] = set()  # every message id a 200 named
        self.innocent_ids: dict[bytes, int] = {}  # innocent body -> the id its 200 named

    def __call__(self, key: str, n: int = 1) -> None:
        self.counts[key] += n


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    # Function-scoped, so hypothesis's examples of one test share it (as they share `client` and its database).
    seen = Tally()
    yield seen
    print(f"\n{request.node.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(seen.counts.items())))


async def post(client: Client, kind: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    # BytesIO: aiohttp warns (an error here) about large raw bytes bodies.
    resp = await client.post(url(kind=kind), data=io.BytesIO(body), headers={"Content-Type": content_type})
    text = await resp.text()
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {"raw": text[:200]}
    return resp.status, answer


@settings(FUZZ, max_examples=50)
@given(hostile=hostile_bodies(message_fields))
async def test_message_callback_fuzzed_among_innocent_neighbours(
    client: Client, tally: Tally, hostile: tuple[bytes, str]
) -> None:
    body, content_type = hostile
    n = next(_serial)
    innocents = [
        json.dumps(msg(f"无辜的消息 {n}-{i}", sender=f"客户{i % 4}"), ensure_ascii=False).encode()
        for i in range(NEIGHBOURS)
    ]
    again = next(iter(tally.innocent_ids), None)  # a re-delivery of an innocent callback of an earlier example
    sends = [(b, "application/json") for b in innocents]
    sends.insert(NEIGHBOURS // 2, (body, content_type))
    if again is not None:
        sends.append((again, "application/json"))
    answers = await asyncio.gather(*(post(client, "message", b, ct) for b, ct in sends))
    tally("inputs tried")
    tally("callbacks posted", len(sends))
    tally("5xx", sum(status >= 500 for status, _ in answers))
    assert all(status < 500 for status, _ in answers), answers
    status, answer = answers[NEIGHBOURS // 2]
    tally(f"fuzzed answered {status}")
    if status == 200 and "messageId" in answer:
        tally.acked.add(answer["messageId"])
    innocent_answers = answers[: NEIGHBOURS // 2] + answers[NEIGHBOURS // 2 + 1 : NEIGHBOURS + 1]
    for sent, (status, answer) in zip(innocents, innocent_answers, strict=True):
        assert status == 200, answer  # an innocent neighbour is never refused nor lost
        assert answer["duplicate"] is False
        tally.innocent_ids[sent] = answer["messageId"]
        tally.acked.add(answer["messageId"])
    if again is not None:
        status, answer = answers[-1]
        assert (status, answer["messageId"], answer["duplicate"]) == (200, tally.innocent_ids[again], True)
    stored = await InboundMessage.all().values_list("id", "text")
    ids = {row[0] for row in stored}
    tally("lost", len(tally.acked - ids))
    tally("stored but not acknowledged", len(ids - tally.acked))
    texts = Counter(text for _, text in stored if text.startswith("无辜的消息"))
    duplicates = sum(c - 1 for c in texts.values())
    tally("duplicates", duplicates)
    assert ids == tally.acked  # every acknowledged message stored; nothing from a rejected request
    assert duplicates == 0  # each stored once


RESULT_FIELDS = {
    "messageId": st.one_of(st.none(), st.text(max_size=24), st.integers(), st.just("9" * 130)),
    "errorCode": st.one_of(st.integers(-3, 3), numbers, texts, st.none()),
    "errorReason": st.one_of(texts, json_values),
    "runTime": numbers,
    "timeCost": numbers,
    "type": st.one_of(st.sampled_from([203, 206]), numbers, texts),
    "rawMsg": st.one_of(texts, json_values),
    "successList": st.one_of(st.lists(texts, max_size=3), texts, json_values),
    "failList": st.one_of(st.lists(texts, max_size=3), texts, json_values),
}
STATUS_FIELDS = {
    "online": st.one_of(st.booleans(), texts, numbers),
    "status": st.one_of(st.sampled_from([5, 6, "5", "online", "offline"]), scalars),
    "type": st.one_of(st.sampled_from([5, 6]), scalars),
}


async def post_stored_kind(
    client: Client, tally: Tally, kind: str, bodies: list[tuple[bytes, str]], count_rows: Callable[[], Any]
) -> None:
    """A result or status callback is stored for every 200 and never for a 4xx; never a 5xx."""
    before = await count_rows()
    answers = await asyncio.gather(*(post(client, kind, body, ct) for body, ct in bodies))
    tally("inputs tried", len(bodies))
    tally("5xx", sum(status >= 500 for status, _ in answers))
    assert all(status < 500 for status, _ in answers), answers
    for status, _ in answers:
        tally(f"answered {status}")
    stored = await count_rows() - before
    ok = sum(status == 200 for status, _ in answers)
    tally("lost", max(ok - stored, 0))
    tally("stored from a rejected request", max(stored - ok, 0))
    assert stored == ok


def result_bodies() -> st.SearchStrategy[list[tuple[bytes, str]]]:
    return st.lists(hostile_bodies(st.fixed_dictionaries({}, optional=RESULT_FIELDS)), min_size=1, max_size=8)


def status_bodies() -> st.SearchStrategy[list[tuple[bytes, str]]]:
    return st.lists(hostile_bodies(st.fixed_dictionaries({}, optional=STATUS_FIELDS)), min_size=1, max_size=8)


@FUZZ
@given(bodies=result_bodies())
async def test_result_callback_fuzzed(client: Client, tally: Tally, bodies: list[tuple[bytes, str]]) -> None:
    await post_stored_kind(client, tally, "result", bodies, ResultCallback.all().count)


@FUZZ
@given(bodies=status_bodies())
async def test_status_callback_fuzzed(client: Client, tally: Tally, bodies: list[tuple[bytes, str]]) -> None:
    await post_stored_kind(client, tally, "status", bodies, RobotStatusEvent.filter(source="callback").count)


def test_the_strategies_reach_the_poisons() -> None:
    """The fuzz is only as good as what it sends: check it draws the values that once failed a batch."""
    seen: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(fields=message_fields, extra=extra_fields)
    def look(fields: dict[str, Any], extra: dict[str, Any]) -> None:
        text = json.dumps({**fields, **extra}, ensure_ascii=True, allow_nan=True)
        seen["nul"] += "\\u0000" in text
        seen["surrogate"] += "\\ud800" in text or "\\udfff" in text
        seen["non-finite"] += "NaN" in text or "Infinity" in text
        seen["big int"] += any(
            isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**31 for v in fields.values()
        )

    look()
    assert all(seen[k] > 0 for k in ("nul", "surrogate", "non-finite", "big int")), seen
