from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import CALLBACK_TOKEN


async def test_message_is_stored(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        f"/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}",
        json={"spoken": "hi", "receivedName": "bob", "groupName": "g", "roomType": 1, "atMe": "false"},
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["code"] == 0
