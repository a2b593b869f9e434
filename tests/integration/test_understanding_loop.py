"""Message understanding end to end through the simulator, with the shipped rules: a complaint gets a
holding reply and needs staff now; a staff answer after it is a takeover that pauses the bot there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.db import open_db
from bot.embedded_redis import free_port
from models.commands import Command
from models.conversations import Conversation
from models.messages import InboundMessage
from tests.integration.test_commands_loop import call, hub_with_sim, loop_env
from tests.waiting import until

pytestmark = pytest.mark.slow
COMPLAINT = "钱交了三个月了，收益呢？你们是不是骗子，把钱退给我"
STAFF_ANSWER = "您好，非常抱歉让您久等了，收益的问题我来跟进处理"
FAQ = "二维码过期了怎么办"


async def processed(db_url: str, text: str, group: str = "客户群1") -> dict[str, Any] | None:
    async with open_db(db_url):
        row = await InboundMessage.filter(text=text, state="processed", conversation__key=group).first()
        return (
            None
            if row is None
            else {"type": row.type, "case": row.intervention_case, "role": row.sender_role, "id": row.id}
        )


async def bot_replies(db_url: str, group: str) -> list[Command]:
    async with open_db(db_url):
        conversation = await Conversation.get(key=group)
        return await Command.filter(conversation_id=conversation.id, purpose="reply").order_by("id")


async def test_complaint_holding_reply_then_staff_takeover_pauses_the_bot(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    sim_port = free_port()
    env = loop_env(db_url, redis_url, tmp_path, free_port(), sim_port)
    sim = f"http://127.0.0.1:{sim_port}"
    with hub_with_sim(env, tmp_path / "hub.log") as base:
        del base
        await until("the scenario's messages", lambda: processed(db_url, "在吗"))
        say = {"messages": [{"group": "客户群1", "from": "号主A", "text": COMPLAINT}]}
        await call("POST", f"{sim}/_sim/play", say)
        complaint = await until("the complaint", lambda: processed(db_url, COMPLAINT))
        assert (complaint["type"], complaint["case"]) == ("chat_complaint", "needs_staff_now")
        # The holding reply goes out through the robot, @-ing the user, and its result comes back.
        replies = await until("the holding reply", lambda: bot_replies(db_url, "客户群1"))
        sent = await until(
            "the holding reply in the cloud",
            lambda: _sim_commands(sim, replies[0].content),
        )
        assert sent[0]["command"]["titleList"] == ["客户群1"]
        assert sent[0]["command"]["atList"] == ["号主A"]
        # Staff answer: a takeover, and the bot pauses in that group.
        say = {"messages": [{"group": "客户群1", "from": "售后小王", "text": STAFF_ANSWER}]}
        await call("POST", f"{sim}/_sim/play", say)
        answer = await until("the staff answer", lambda: processed(db_url, STAFF_ANSWER))
        assert (answer["role"], answer["case"]) == ("staff", "staff_took_over")
        async with open_db(db_url):
            paused = await Conversation.get(key="客户群1")
        assert paused.bot_paused_until is not None
        assert paused.paused_by == "售后小王"
        # An FAQ question @-ing the robot: answered in the other group, not in the paused one.
        say_faq: dict[str, Any] = {
            "messages": [
                {"group": "客户群2", "from": "号主B", "text": FAQ, "at_me": True},
                {"group": "客户群1", "from": "号主A", "text": FAQ, "at_me": True},
            ]
        }
        await call("POST", f"{sim}/_sim/play", say_faq)
        await until("the FAQ in the open group", lambda: bot_replies(db_url, "客户群2"))
        await until("the FAQ in the paused group", lambda: processed(db_url, FAQ, "客户群1"))
        assert len(await bot_replies(db_url, "客户群1")) == 1  # only the holding reply


async def _sim_commands(sim: str, content: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await call("GET", f"{sim}/_sim/commands"))["data"]
    return [r for r in rows if r["command"].get("receivedContent") == content]
