"""Image and file bursts without a messageId (issue 11 §2): real image callbacks carry an empty `spoken`,
`messageId` may be "", and a phone reports several messages of one group within a second. Both databases."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from aiohttp.test_utils import TestClient

from models.messages import InboundMessage, MessageSighting
from tests.conftest import CALLBACK_TOKEN

Client = TestClient[Any, Any]


def image(data: bytes | None, robot_name: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "spoken": "",
        "rawSpoken": "",
        "receivedName": "号主A",
        "groupName": "客户群1",
        "groupRemark": "",
        "roomType": 1,
        "atMe": "false",
        "textType": 2,
        "messageId": "",
    }
    if data is not None:
        body["fileBase64"] = base64.b64encode(data).decode()
    return body


async def burst(client: Client, bodies: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    async def one(robot: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await client.post(f"/worktool/{robot}/message?token={CALLBACK_TOKEN}", json=body)
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer

    answers = []
    for robot, body in bodies:  # in order, within the same frozen second
        answers.append(await one(robot, body))
    return answers


async def test_three_different_screenshots_in_a_second_are_three_messages(client: Client) -> None:
    shots = [b"\x89PNG screenshot one", b"\x89PNG screenshot two", b"\x89PNG screenshot three"]
    answers = await burst(client, [("wt-robot-1", image(shot)) for shot in shots])
    assert [a["duplicate"] for a in answers] == [False, False, False]
    assert await InboundMessage.all().count() == 3


async def test_images_without_data_are_never_folded_together(client: Client) -> None:
    answers = await burst(client, [("wt-robot-1", image(None)) for _ in range(3)])
    assert [a["duplicate"] for a in answers] == [False, False, False]
    assert await InboundMessage.all().count() == 3


async def test_the_same_screenshot_twice_is_one_message_and_another_robot_sees_the_same_ones(client: Client) -> None:
    one, two = image(b"\x89PNG one"), image(b"\x89PNG two")
    answers = await burst(
        client,
        [("wt-robot-1", one), ("wt-robot-1", two), ("wt-robot-1", one), ("wt-robot-2", one), ("wt-robot-2", two)],
    )
    assert [a["duplicate"] for a in answers] == [False, False, True, True, True]
    assert answers[2]["messageId"] == answers[3]["messageId"] == answers[0]["messageId"]
    assert answers[4]["messageId"] == answers[1]["messageId"]
    assert await InboundMessage.all().count() == 2
    assert await MessageSighting.all().count() == 2


async def test_a_concurrent_burst_keeps_every_distinct_image(client: Client) -> None:
    bodies = [image(f"\x89PNG shot {n}".encode()) for n in range(8)]

    async def post(body: dict[str, Any]) -> int:
        resp = await client.post(f"/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}", json=body)
        return resp.status

    assert await asyncio.gather(*(post(b) for b in bodies)) == [200] * 8
    assert await InboundMessage.all().count() == 8
