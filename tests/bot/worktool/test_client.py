"""WorkToolClient against a local server speaking WorkTool's answers; the request budget on a real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot import limits
from bot.embedded_redis import free_port
from bot.simulator import Scenario, SimState, create_sim_app
from bot.worktool.client import (
    DeliveryUnknown,
    NotDelivered,
    Rejected,
    UnreadableAnswer,
    WorkToolClient,
    WorkToolError,
)
from bot.worktool.protocol import MAX_RAW_PAGES, text_command
from bot.worktool.ratelimit import RateLimited, RequestBudget
from tests.conftest import REPO

SAMPLES = REPO / "tests" / "fixtures" / "worktool"


class FakeCloud:
    """Answers each request with the next scripted reply; records what it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.replies: list[tuple[int, Any] | float] = []  # (status, body) or a delay that outlasts the timeout

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.path, dict(request.query), body))
        reply = self.replies.pop(0) if self.replies else (200, {"code": 200, "message": "操作成功", "data": "1"})
        if isinstance(reply, float):
            await asyncio.sleep(reply)
            reply = (200, {"code": 200, "data": "late"})
        status, payload = reply
        return web.json_response(payload, status=status)


@pytest.fixture
async def cloud(aiohttp_server: Callable[..., Any]) -> tuple[FakeCloud, TestServer]:
    fake = FakeCloud()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server: TestServer = await aiohttp_server(app)
    return fake, server


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def make_client(redis: Redis) -> AsyncIterator[Callable[[str], WorkToolClient]]:
    async with aiohttp.ClientSession() as session:

        def build(base: str, timeout_s: float = 2.0) -> WorkToolClient:
            return WorkToolClient(session, base, RequestBudget(redis, 1000, 60), timeout_s)

        yield build


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


async def test_send_accepts_the_live_code_200_and_the_documented_code_0(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    fake.replies = [(200, sample("41_cmd_response_observed_code200_fixture.json")), (200, {"code": 0, "data": 42})]
    client = make_client(str(server.make_url("")))
    command = text_command("售后群", "您好", ["号主A"])
    assert await client.send_raw("wt-robot-1", [command]) == "command-200"
    assert await client.send_raw("wt-robot-1", [command]) == "42"
    path, query, body = fake.requests[0]
    assert (path, query) == ("/wework/sendRawMessage", {"robotId": "wt-robot-1"})
    assert body == {
        "socketType": 2,
        "list": [{"type": 203, "titleList": ["售后群"], "receivedContent": "您好", "atList": ["号主A"]}],
    }


async def test_a_refusal_is_not_retried(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    fake.replies = [(200, {"code": 500, "message": "robotId不存在", "data": None})]
    with pytest.raises(Rejected) as caught:
        await make_client(str(server.make_url(""))).send_raw("nobody", [text_command("g", "x", [])])
    assert (caught.value.code, caught.value.reason, len(fake.requests)) == (500, "robotId不存在", 1)


async def test_a_send_that_may_have_arrived_is_never_repeated(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    fake.replies = [1.0]  # answers after the client's timeout
    with pytest.raises(DeliveryUnknown):
        await make_client(str(server.make_url("")), timeout_s=0.2).send_raw("r", [text_command("g", "x", [])])
    fake.replies = [(502, {"code": 502})]
    with pytest.raises(DeliveryUnknown):
        await make_client(str(server.make_url(""))).send_raw("r", [text_command("g", "x", [])])
    assert len(fake.requests) == 2


async def test_a_message_id_too_long_to_store_is_an_unknown_outcome(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    fake.replies = [(200, {"code": 200, "data": "7" * (limits.EXTERNAL_ID_CHARS + 1)})]
    with pytest.raises(DeliveryUnknown, match=f"{limits.EXTERNAL_ID_CHARS + 1} chars"):
        await make_client(str(server.make_url(""))).send_raw("r", [text_command("g", "x", [])])
    assert len(fake.requests) == 1  # it may have arrived: never repeated


async def test_rate_limited_requests_are_retried(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    fake.replies = [(429, {"code": 429, "message": "请求过于频繁"}), (200, {"code": 200, "data": "9"})]
    assert await make_client(str(server.make_url(""))).send_raw("r", [text_command("g", "x", [])]) == "9"
    assert len(fake.requests) == 2


async def test_connection_refused_is_not_delivered_after_retries(make_client: Callable[..., WorkToolClient]) -> None:
    client = make_client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NotDelivered, match="cannot connect"):
        await client.send_raw("r", [text_command("g", "x", [])])


async def test_queries_retry_unknown_outcomes_and_read_the_quirky_shapes(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    raw = sample("60_rawMsg_list_response_doc_example_first_item.json")
    fake.replies = [(503, {}), (200, raw), (200, {"code": 200, "message": "操作成功", "data": True})]
    client = make_client(str(server.make_url("")))
    records = await client.raw_messages("worktool1", "1784417250785046528")
    assert len(records) == 1
    assert (records[0].raw_success, records[0].success_list, records[0].fail_list) == (0, ["仑哥"], [])
    assert await client.is_online("worktool1") is True
    assert fake.requests[1][1]["messageId"] == "1784417250785046528"
    assert (fake.requests[1][1]["page"], fake.requests[1][1]["size"]) == ("1", "100")  # pages start at 1


def row(message_id: str, title: str) -> dict[str, Any]:
    return {"messageId": message_id, "rawMsg": "{}", "rawSuccess": 0, "successList": f'["{title}"]', "type": 203}


@pytest.mark.parametrize(
    "pages",
    [
        [{"records": [row("7", "甲")], "totalPage": 2, "total": 2}, {"records": [row("7", "乙")], "totalPage": 2}],
        [{"list": [row("7", "甲")], "total": 101}, {"list": [row("7", "乙"), row("8", "other")], "total": 101}],
    ],
    ids=["records+totalPage", "list+total"],
)
async def test_raw_messages_follow_the_pages_of_a_page_object(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient], pages: list[dict[str, Any]]
) -> None:
    fake, server = cloud
    fake.replies = [(200, {"code": 200, "message": "操作成功", "data": page}) for page in pages]
    records = await make_client(str(server.make_url(""))).raw_messages("r", "7")
    assert [r.success_list for r in records] == [["甲"], ["乙"]]  # another messageId's row is left out
    assert [q["page"] for _, q, _ in fake.requests] == ["1", "2"]


async def test_raw_messages_read_at_most_a_bounded_number_of_pages(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    page = {"code": 200, "data": {"list": [row("7", "甲")], "totalPage": 1000}}
    fake.replies = [(200, page)] * 20
    records = await make_client(str(server.make_url(""))).raw_messages("r", "7")
    assert len(records) == len(fake.requests) == MAX_RAW_PAGES


async def test_an_empty_page_object_is_no_rows(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    shapes: list[Any] = [[], {"list": [], "totalPage": 0}, {"records": None, "total": 0}]
    fake.replies = [(200, {"code": 200, "data": d}) for d in shapes]
    client = make_client(str(server.make_url("")))
    assert [await client.raw_messages("r", "7") for _ in range(3)] == [[], [], []]
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "data", [None, "1784417250785046528", {"rows_count": 3}, {"list": "[]"}, {"list": None, "total": 3}]
)
async def test_an_unreadable_raw_msg_answer_is_an_error_not_no_rows(
    cloud: tuple[FakeCloud, TestServer],
    make_client: Callable[..., WorkToolClient],
    data: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, server = cloud
    fake.replies = [(200, {"code": 200, "message": "操作成功", "data": data})]
    with pytest.raises(UnreadableAnswer, match="neither a list nor a page object") as caught:
        await make_client(str(server.make_url(""))).raw_messages("r", "7")
    assert isinstance(caught.value, WorkToolError)  # what bot/commands/results.py catches
    assert len(fake.requests) == 1  # not retried: asking again gets the same answer
    logged = capsys.readouterr()  # stdout with structlog's defaults, stderr once a test configured the hub's logging
    assert "unreadable rawMsg/list answer" in logged.out + logged.err


@pytest.mark.parametrize("shape", ["list", "object"])
async def test_raw_messages_against_the_simulator_in_both_shapes(
    aiohttp_server: Callable[..., Any], make_client: Callable[..., WorkToolClient], shape: str
) -> None:
    cloud = {"raw_msg_shape": shape, "raw_msg_max_size": 2}
    scenario = Scenario.model_validate({"robots": [{"id": "wt-1", "name": "小助手"}], "cloud": cloud})
    state = SimState(scenario, time_scale=100)
    server = await aiohttp_server(create_sim_app(state))
    client = make_client(str(server.make_url("")))
    message_id = await client.send_raw("wt-1", [text_command(t, "x", []) for t in ("甲", "乙", "丙")])
    await state.drain()
    records = await client.raw_messages("wt-1", message_id)
    polls = [r for r in state.requests if r.path == "/robot/rawMsg/list"]
    # a plain list cannot say there is more: only the page object's totalPage makes the client read on
    assert (len(records), len(polls)) == ((3, 2) if shape == "object" else (2, 1))


async def test_robot_info_and_the_message_callback_binding(
    cloud: tuple[FakeCloud, TestServer], make_client: Callable[..., WorkToolClient]
) -> None:
    fake, server = cloud
    info = sample("61_robotInfo_get_response_doc_example.json")
    fake.replies = [(200, info), (200, {"code": 200, "data": {**info["data"], "replyAll": "0", "openCallback": 1}})]
    client = make_client(str(server.make_url("")))
    first = await client.robot_info("11a")
    assert (first.open_callback, first.reply_all) == (0, 1)
    assert first.message_problem() == "openCallback=0: the message callback is off, no messages at all reach the hub"
    second = await client.robot_info("11a")
    assert second.reply_all == 0  # the docs type replyAll as a string
    assert "only @-messages and private chats reach the hub" in (second.message_problem() or "")
    await client.bind_message_callback("11a", "https://hub.example/worktool/11a/message?token=t")
    path, query, body = fake.requests[-1]
    assert (path, query) == ("/robot/robotInfo/update", {"robotId": "11a"})
    assert body == sample("62_robotInfo_update_msg_callback_request_doc.json") | {
        "callbackUrl": "https://hub.example/worktool/11a/message?token=t"
    }
    with pytest.raises(ValueError, match="not 11"):
        await client.bind_callback("11a", 11, "https://hub.example/x")
    assert len(fake.requests) == 3


async def test_at_most_100_commands_per_request(make_client: Callable[..., WorkToolClient]) -> None:
    with pytest.raises(ValueError, match="1-100"):
        await make_client("http://127.0.0.1:9").send_raw("r", [text_command("g", "x", [])] * 101)


async def test_the_budget_is_shared_by_every_holder_of_the_key(redis: Redis) -> None:
    first, second = RequestBudget(redis, 3, 0.5), RequestBudget(redis, 3, 0.5)  # two processes, one IP
    started = time.monotonic()
    for budget in (first, second, first):
        await budget.acquire(max_wait_s=0)
    with pytest.raises(RateLimited):
        await second.acquire(max_wait_s=0)
    await second.acquire(max_wait_s=2)  # waits for the oldest slot to leave the window
    assert time.monotonic() - started >= 0.5


async def test_the_budget_falls_back_to_a_local_share_without_redis() -> None:
    dead: Redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    budget = RequestBudget(dead, 6, 30)
    for _ in range(2):  # a third of 6
        await budget.acquire(max_wait_s=0)
    with pytest.raises(RateLimited):
        await budget.acquire(max_wait_s=0)
    await dead.aclose()
