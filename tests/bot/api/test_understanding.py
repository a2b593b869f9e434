"""The understanding API through the real app: the catalogue, identify-type, and reloading the rules."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import FrozenClock
from bot.settings import Settings
from tests.conftest import ADMIN_TOKEN, REPO, STAFF_TOKEN

Client = TestClient[Any, Any]
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_types_lists_the_15_types_with_the_rules_version(client: Client) -> None:
    resp = await client.get("/api/messages/types", headers=STAFF)
    data = (await resp.json())["data"]
    assert len(data["types"]) == 15
    assert len(data["rules_version"]) == 12
    assert {t["category"] for t in data["types"]} == {"user", "staff", "operator"}


async def test_identify_type_answers_with_type_and_intervention(client: Client) -> None:
    body = {"message": "天天让我扫码，你们是不是骗子，把钱退给我", "context": []}
    resp = await client.post("/api/messages/identify-type", json=body, headers=STAFF)
    data = (await resp.json())["data"]
    assert resp.status == 200
    assert (data["type"], data["category"], data["source"]) == ("chat_complaint", "user", "rules")
    assert data["intervention"]["case"] == "needs_staff_now"
    assert data["intervention"]["should_intervene"] is True
    assert 0 < data["confidence"] <= 1
    assert data["reason"]


async def test_identify_type_uses_the_context(client: Client) -> None:
    staff = {
        "message": "您好，二维码已经重新发您了",
        "sender_role": "staff",
        "context": [{"role": "user", "content": "二维码过期了，能再发一个吗"}],
    }
    resp = await client.post("/api/messages/identify-type", json=staff, headers=STAFF)
    assert (await resp.json())["data"]["intervention"]["case"] == "staff_took_over"
    reply = {"message": "在的", "context": [{"role": "staff", "content": "@刘姐 在吗？麻烦扫一下码"}]}
    resp = await client.post("/api/messages/identify-type", json=reply, headers=STAFF)
    assert (await resp.json())["data"]["type"] == "chat_response"


async def test_identify_type_takes_the_plans_assistant_role(client: Client) -> None:
    """The plan's own example: `assistant` in the context is our robot (it @s and asks like one)."""
    body = {
        "message": "我无法认证视频号",
        "context": [
            {"role": "user", "content": "我的视频号发不了作品"},
            {"role": "assistant", "content": "需要扫码认证吗？"},
        ],
    }
    resp = await client.post("/api/messages/identify-type", json=body, headers=STAFF)
    payload = await resp.json()
    assert resp.status == 200, payload
    assert payload["data"]["type"] == "chat_after_sales"
    resp = await client.post(
        "/api/messages/identify-type", json={"message": "您好", "sender_role": "assistant"}, headers=STAFF
    )
    payload = await resp.json()
    assert (resp.status, payload["data"]["intervention"]["reason"]) == (200, "our own robot")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "message: is required"),
        ({"message": ""}, "message"),
        ({"message": "hi", "context": [{"role": "boss", "content": "x"}]}, "context.0.role"),
        ({"message": "hi", "extra": 1}, "extra"),
    ],
)
async def test_identify_type_rejects_bad_bodies(client: Client, body: dict[str, Any], words: str) -> None:
    resp = await client.post("/api/messages/identify-type", json=body, headers=STAFF)
    payload = await resp.json()
    assert resp.status == 400
    assert words in payload["message"]


async def test_reload_refuses_a_broken_file_and_applies_a_good_one(
    settings: Settings, clock: FrozenClock, aiohttp_client: Any, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    client: Client = await aiohttp_client(
        create_app(settings.model_copy(update={"rules_dir": str(rules)}), clock=clock)
    )
    before = (await (await client.get("/api/messages/types", headers=STAFF)).json())["data"]["rules_version"]
    resp = await client.post("/api/admin/rules/reload", headers=STAFF)
    assert resp.status == 403  # admins only
    original = (rules / "intervention.yaml").read_text(encoding="utf-8")
    (rules / "intervention.yaml").write_text(original + "\nsurprise: true\n", encoding="utf-8")
    resp = await client.post("/api/admin/rules/reload", headers=ADMIN)
    payload = await resp.json()
    assert resp.status == 422
    assert "intervention.yaml:" in payload["message"]
    assert "surprise" in payload["message"]
    after = (await (await client.get("/api/messages/types", headers=STAFF)).json())["data"]["rules_version"]
    assert after == before  # the running set stays
    (rules / "intervention.yaml").write_text(original + "\n# reviewed\n", encoding="utf-8")
    resp = await client.post("/api/admin/rules/reload", headers=ADMIN)
    payload = await resp.json()
    assert (resp.status, payload["message"], payload["data"]["applied"]) == (200, "reloaded", True)
    assert payload["data"]["previous_version"] == before
