"""What the simulated cloud does on its own: executes commands, posts result/message/status callbacks,
echoes a robot's group message through the group's other robots, plays a message timeline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

import aiohttp
import structlog

from bot.simulator.payloads import (
    BINDING_TEST_PAYLOAD,
    as_form,
    mention,
    message_body,
    result_body,
    split_targets,
    status_body,
    titles_of,
)
from bot.simulator.scenario import Mode, ScriptedMessage
from bot.simulator.state import CallbackKind, CallbackRecord, Outcome, RobotState, SimCommand, SimState

log = structlog.get_logger(__name__)
MAX_TIME_COST_S: Final = 4.5  # a command's own execution time; the rest of a long delay was queueing
TEXT_COMMAND: Final = 203
OUTCOMES: Final[dict[Mode, Outcome]] = {
    "on_time": "succeeded",
    "late": "succeeded",
    "failed": "failed",
    "partial": "partial",
    "never": "lost",
}


async def post_callback(
    state: SimState,
    robot_id: str,
    kind: CallbackKind,
    body: Mapping[str, Any],
    *,
    form: bool = False,
    online: bool = True,
) -> int | None:
    """POST one callback; the HTTP status, or None when it could not be delivered. Never retried (like WorkTool).
    `online` picks the status callback type (5 online, 6 offline)."""
    url = state.callback_url(robot_id, kind, online=online)
    bare_url = url.split("?", 1)[0] if url else ""
    status: int | None = None
    error: str | None = None
    if url is None:
        error = "no callback URL bound and no hub_url"
    elif state.session is None:
        error = "the simulator app is not running"
    else:
        try:
            payload: dict[str, Any] = {"data": as_form(body)} if form else {"json": body}
            async with state.session.post(url, **payload) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
    state.callbacks.append(CallbackRecord(kind, robot_id, bare_url, dict(body), form, state.wall_ms(), status, error))
    if status is None or status >= 300:
        log.warning("callback not delivered", kind=kind, robot_id=robot_id, url=bare_url, status=status, error=error)
    else:
        log.debug("callback posted", kind=kind, robot_id=robot_id, url=bare_url, status=status)
    return status


def accept_commands(state: SimState, robot: RobotState, message_id: str, commands: Sequence[dict[str, Any]]) -> None:
    """Record a sendRawMessage batch and schedule its execution (or queue it while the robot is offline)."""
    now = state.wall_ms()
    batch = [
        SimCommand(message_id, robot.id, i, cmd, state.behaviour_for(robot, cmd), now) for i, cmd in enumerate(commands)
    ]
    state.commands.extend(batch)
    if robot.online:
        state.spawn(run_batch(state, robot, batch), f"batch:{message_id}")
    else:
        for command in batch:
            command.outcome = "queued"
        robot.queue.extend(batch)
        log.info("robot offline: commands queued", robot_id=robot.id, message_id=message_id, queued=len(robot.queue))


async def run_batch(state: SimState, robot: RobotState, batch: Sequence[SimCommand]) -> None:
    """Execute each command `delay_s` (scaled) after the start; a robot gone offline meanwhile queues the rest."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for command in sorted(batch, key=lambda c: (c.behaviour.effective_delay_s, c.index)):
        await asyncio.sleep(max(0.0, start + state.scaled(command.behaviour.effective_delay_s) - loop.time()))
        if not robot.online:
            command.outcome = "queued"
            robot.queue.append(command)
            continue
        execute(state, command)
        if command.behaviour.mode == "never":
            log.info("command executed, result callback lost", robot_id=robot.id, message_id=command.message_id)
        else:
            body = result_body(
                message_id=command.message_id,
                command=command.command,
                error_code=command.error_code,
                error_reason=command.error_reason,
                run_time_ms=command.executed_ms or 0,
                time_cost_s=command.time_cost_s,
                success_list=command.success_list,
                fail_list=command.fail_list,
            )
            command.result_status = await post_callback(state, robot.id, "result", body)
            command.result_posted_ms = state.wall_ms()
        if state.scenario.echo and command.command.get("type") == TEXT_COMMAND and command.success_list:
            state.spawn(echo(state, robot, command), f"echo:{command.message_id}:{command.index}")


def execute(state: SimState, command: SimCommand) -> None:
    behaviour = command.behaviour
    command.time_cost_s = round(min(behaviour.effective_delay_s, MAX_TIME_COST_S), 3)
    command.executed_ms = state.wall_ms() - int(state.scaled(command.time_cost_s) * 1000)  # runTime = start
    command.error_code = behaviour.effective_error_code
    command.error_reason = behaviour.effective_error_reason
    command.success_list, command.fail_list = split_targets(titles_of(command.command), behaviour.mode)
    command.outcome = OUTCOMES[behaviour.mode]


def flush_queue(state: SimState, robot: RobotState) -> int:
    """A robot back online executes what was queued for it, delays counted from now."""
    queued, robot.queue = robot.queue, []
    for command in queued:
        command.outcome = "pending"
    if queued:
        state.spawn(run_batch(state, robot, queued), f"flush:{robot.id}")
    return len(queued)


async def set_online(state: SimState, robot: RobotState, online: bool) -> None:
    if robot.online == online:
        return
    robot.online = online
    log.info("robot status changed", robot_id=robot.id, online=online)
    body = status_body(
        shape=state.cloud.status_shape, robot_id=robot.id, name=robot.name, online=online, now_ms=state.wall_ms()
    )
    await post_callback(state, robot.id, "status", body, online=online)
    if online:
        flush_queue(state, robot)


async def echo(state: SimState, sender: RobotState, command: SimCommand) -> None:
    """Robots sitting in the same group see the sending robot's text and call it back like any message."""
    content = str(command.command.get("receivedContent", ""))
    at_list = [str(n) for n in command.command.get("atList") or []]
    raw = "".join(mention(name, "") for name in at_list) + content
    for title in command.success_list:
        group = state.scenario.group(title)
        if group is None:
            continue
        for robot_id in group.robots:
            robot = state.robots.get(robot_id)
            if robot is None or robot.id == sender.id:
                continue
            at_me = robot.name in at_list
            spoken = raw.replace(mention(robot.name, ""), "", 1) if at_me else raw
            body = message_body(
                spoken=spoken,
                raw_spoken=raw,
                sender=sender.name,
                group=group,
                at_me=at_me,
                message_id=state.next_id(),
            )
            await deliver_message(state, robot, body, private=False)


async def deliver_message(
    state: SimState, robot: RobotState, body: Mapping[str, Any], *, private: bool, form: bool = False
) -> bool:
    """Post a message callback if this robot would: online, callback open, and replyAll lets the message through
    (-1 none, 0 private chats and @me only, 1 all). Every message callback (timeline, duplicates, echoes) goes
    through here."""
    at_me = body.get("atMe") in (True, "true")
    wanted = robot.reply_all == 1 or (robot.reply_all == 0 and (private or at_me))
    if not (robot.online and robot.open_callback and wanted):
        log.info("message not called back", robot_id=robot.id, online=robot.online, reply_all=robot.reply_all)
        return False
    status = await post_callback(state, robot.id, "message", body, form=form)
    return status is not None and status < 300


def deliveries(state: SimState, message: ScriptedMessage) -> list[tuple[RobotState, dict[str, Any]]]:
    """Each robot's callback body for one scripted message (the first target robot is the one @-ed)."""
    scenario = state.scenario
    group = scenario.group(message.group) if message.group is not None else None
    default_targets = group.robots if group is not None else [r.id for r in scenario.robots][:1]
    targets = [state.robots[rid] for rid in (message.to_robots or default_targets)]
    mentioned = targets[0].name if message.at_me else None
    raw = mention(mentioned, message.text) if mentioned is not None else message.text
    result = []
    for robot in targets:
        at_me = robot.name == mentioned
        body = message_body(
            spoken=message.text if at_me else raw,
            raw_spoken=raw,
            sender=message.sender_name,
            group=group,
            at_me=at_me,
            text_type=message.text_type,
            message_id=state.next_id() if message.with_message_id else None,
            at_me_as_string=message.at_me_as_string,
        )
        result.append((robot, body))
    return result


async def play(state: SimState, messages: Sequence[ScriptedMessage]) -> int:
    """Post the timeline's message callbacks in order; returns how many callbacks were posted."""
    posted = 0
    for message in messages:
        await asyncio.sleep(state.scaled(message.after_s))
        private = message.private is not None
        for robot, body in deliveries(state, message):
            posted += await deliver_message(state, robot, body, private=private, form=message.form)
            if message.duplicate:
                state.spawn(redeliver(state, robot, body, message), f"duplicate:{robot.id}")
    log.info("timeline played", messages=len(messages), callbacks=posted)
    return posted


async def redeliver(state: SimState, robot: RobotState, body: Mapping[str, Any], message: ScriptedMessage) -> None:
    for _ in range(message.duplicate):
        await asyncio.sleep(state.scaled(message.duplicate_after_s))
        await deliver_message(state, robot, body, private=message.private is not None, form=message.form)


async def check_callback_url(state: SimState, robot_id: str, url: str) -> str | None:
    """The binding check: POST the test payload; the URL is refused unless it answers HTTP 200 with JSON.
    Returns what is wrong, or None."""
    if state.session is None:
        return "the simulator app is not running"
    status: int | None = None
    problem: str | None = None
    try:
        async with state.session.post(url, json=BINDING_TEST_PAYLOAD) as resp:
            status = resp.status
            text = await resp.text()
        if status != 200:
            problem = f"HTTP {status}"
        else:
            json.loads(text)
    except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    except json.JSONDecodeError:
        problem = "the answer is not JSON"
    bare_url = url.split("?", 1)[0]
    record = CallbackRecord("binding_test", robot_id, bare_url, BINDING_TEST_PAYLOAD, False, state.wall_ms(), status)
    state.callbacks.append(record if problem is None else replace(record, error=problem))
    log.info("callback URL checked", robot_id=robot_id, url=bare_url, status=status, problem=problem)
    return problem
