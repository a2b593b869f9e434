"""Command outcomes reach their listeners whichever process recorded them (issue 11 §6): the status change
flags the command, any process enqueues the outcome job, only the worker has listeners. Both databases,
a real Redis, an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis as redis_sync
from arq.connections import ArqRedis

from bot.clock import FrozenClock
from bot.commands.outcomes import Outcomes
from bot.commands.results import check_results, match_result
from bot.db import open_db
from bot.queue import arq_redis
from models.callbacks import ResultCallback
from models.commands import Command, CommandStatus

MESSAGE_ID = "1784417250785046528"


@pytest.fixture
async def redis(db_url: str, redis_url: str) -> AsyncIterator[ArqRedis]:
    async with open_db(db_url):
        client = arq_redis(redis_url)
        yield client
        await client.aclose()


async def sent(clock: FrozenClock, purpose: str = "alert", key: str = "k1") -> Command:
    now = clock.now()
    return await Command.create(
        idempotency_key=key,
        reply_key=key,
        robot_id="wt-robot-1",
        purpose=purpose,
        type=203,
        target="管理群",
        content="告警",
        status=CommandStatus.SENT,
        created_at=now,
        sent_at=now,
        result_due_at=now + timedelta(seconds=60),
        worktool_message_id=MESSAGE_ID,
        batch_index=0,
    )


async def result(clock: FrozenClock, error_code: int) -> ResultCallback:
    return await ResultCallback.create(
        robot_id="wt-robot-1",
        message_id=MESSAGE_ID,
        error_code=error_code,
        received_at=clock.now(),
        payload={"messageId": MESSAGE_ID, "errorCode": error_code, "errorReason": "发送失败" if error_code else ""},
    )


def queued_outcome_jobs(redis_url: str) -> set[str]:
    client = redis_sync.Redis.from_url(redis_url)
    try:
        keys: list[bytes] = client.keys("arq:job:outcome:*")  # type: ignore[assignment]  # sync client
        return {key.decode().removeprefix("arq:job:") for key in keys}
    finally:
        client.close()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, CommandStatus]] = []
        self.fail = False

    async def __call__(self, command: Command, status: CommandStatus) -> None:
        self.calls.append((command.id, status))
        if self.fail:
            raise RuntimeError("listener broke")


async def test_a_result_matched_without_listeners_reaches_the_workers_listener_once(
    redis: ArqRedis, redis_url: str, clock: FrozenClock
) -> None:
    command = await sent(clock)
    web = Outcomes(redis)  # the web process: records and enqueues, has no listeners
    assert await match_result(await result(clock, 201102), clock.now(), web) is not None
    await command.refresh_from_db()
    assert (command.status, command.outcome_due) == (CommandStatus.FAILED, True)
    assert queued_outcome_jobs(redis_url) == {f"outcome:{command.id}:failed"}

    worker, listener = Outcomes(redis), Recorder()
    worker.listen("alert", listener)
    assert await worker.deliver(command.id) is True
    assert await worker.deliver(command.id) is False  # a job that runs twice does nothing more
    assert listener.calls == [(command.id, CommandStatus.FAILED)]
    await command.refresh_from_db()
    assert command.outcome_due is False


async def test_a_late_result_after_unknown_is_news_again(redis: ArqRedis, clock: FrozenClock) -> None:
    command = await sent(clock)
    outcomes, listener = Outcomes(redis), Recorder()
    outcomes.listen("alert", listener)
    clock.advance(timedelta(seconds=61))
    assert await check_results(None, clock.now(), outcomes) == 1  # no client: no poll, straight to unknown
    await outcomes.deliver(command.id)
    await match_result(await result(clock, 0), clock.now(), outcomes)  # it did arrive, late
    await outcomes.deliver(command.id)
    assert listener.calls == [(command.id, CommandStatus.UNKNOWN), (command.id, CommandStatus.SUCCEEDED)]


async def test_the_sweeper_re_enqueues_what_a_lost_redis_dropped(
    redis: ArqRedis, redis_url: str, clock: FrozenClock
) -> None:
    command = await sent(clock)
    outcomes = Outcomes(redis)
    await match_result(await result(clock, 0), clock.now(), outcomes)
    redis_sync.Redis.from_url(redis_url).flushall()
    assert await outcomes.sweep(clock.now()) == 0  # within the grace: the job normally runs by itself
    clock.advance(timedelta(seconds=10))
    assert await outcomes.sweep(clock.now()) == 1
    assert queued_outcome_jobs(redis_url) == {f"outcome:{command.id}:succeeded"}


async def test_a_failing_listener_keeps_the_flag_for_another_try(redis: ArqRedis, clock: FrozenClock) -> None:
    command = await sent(clock)
    outcomes, listener = Outcomes(redis), Recorder()
    outcomes.listen("alert", listener)
    await match_result(await result(clock, 0), clock.now(), outcomes)
    listener.fail = True
    await outcomes.deliver(command.id)
    await command.refresh_from_db()
    assert command.outcome_due is True
    listener.fail = False
    await outcomes.deliver(command.id)
    await command.refresh_from_db()
    assert command.outcome_due is False
    assert len(listener.calls) == 2


async def test_purposes_without_listeners_are_not_flagged(redis: ArqRedis, redis_url: str, clock: FrozenClock) -> None:
    command = await sent(clock, purpose="reply")
    await match_result(await result(clock, 0), clock.now(), Outcomes(redis))
    await command.refresh_from_db()
    assert (command.status, command.outcome_due) == (CommandStatus.SUCCEEDED, False)
    assert queued_outcome_jobs(redis_url) == set()
    with pytest.raises(ValueError, match="LISTENED_PURPOSES"):
        Outcomes(redis).listen("reply", Recorder())


async def test_without_redis_the_flag_alone_carries_the_outcome(db_url: str, clock: FrozenClock) -> None:
    async with open_db(db_url):
        command = await sent(clock)
        dead = arq_redis("redis://127.0.0.1:1")  # nothing listens there
        try:
            await match_result(await result(clock, 0), clock.now(), Outcomes(dead))  # must not raise
        finally:
            await dead.aclose()
        await command.refresh_from_db()
        assert (command.status, command.outcome_due) == (CommandStatus.SUCCEEDED, True)
