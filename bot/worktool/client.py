"""`WorkToolClient`: the robot command API (worktool-protocol.md §2-§4) over the process's one session.

Every request first takes a slot of the shared request budget. Retries (tenacity) happen only when a
request provably did not reach WorkTool — the connection was never made, or WorkTool answered 429
(it drops excess requests). A send that may have arrived is never repeated: the phone might execute
it, and a customer seeing a message twice is worse than a late one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import aiohttp
import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot import limits
from bot.settings import Settings
from bot.worktool.protocol import (
    BINDABLE_CALLBACKS,
    MAX_COMMANDS_PER_REQUEST,
    MAX_RAW_PAGES,
    ApiAnswer,
    RawMessagePage,
    RawMessageRecord,
    RobotInfo,
    read_raw_message_page,
)
from bot.worktool.ratelimit import RateLimited, RequestBudget

log = structlog.get_logger(__name__)
SEND_ATTEMPTS: Final = 3
QUERY_ATTEMPTS: Final = 3
BUDGET_WAIT_S: Final = 20.0
RAW_PAGE_SIZE: Final = 100


class WorkToolError(Exception):
    """A WorkTool request did not succeed."""


class NotDelivered(WorkToolError):
    """The request provably did not reach WorkTool: safe to send again."""


class DeliveryUnknown(WorkToolError):
    """The request may have reached WorkTool (timeout, broken connection, 5xx, unreadable answer)."""


class Rejected(WorkToolError):
    """WorkTool answered and did not accept the request."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WorkTool refused: code {code} {message}")
        self.code = code
        self.reason = message


class UnreadableAnswer(WorkToolError):
    """WorkTool accepted the request but its data has a shape we cannot read (not the same as "nothing")."""


class WorkToolClient:
    def __init__(self, session: aiohttp.ClientSession, api_base: str, budget: RequestBudget, timeout_s: float) -> None:
        self._session = session
        self._base = api_base.rstrip("/")
        self._budget = budget
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send_raw(self, robot_id: str, commands: Sequence[dict[str, Any]]) -> str:
        """Queue commands on the robot; returns WorkTool's messageId (one per request)."""
        if not 0 < len(commands) <= MAX_COMMANDS_PER_REQUEST:
            raise ValueError(f"a request carries 1-{MAX_COMMANDS_PER_REQUEST} commands, got {len(commands)}")
        body = {"socketType": 2, "list": list(commands)}
        answer = await self._call("POST", "/wework/sendRawMessage", robot_id, body, attempts=SEND_ATTEMPTS)
        if not isinstance(answer.data, str | int) or not str(answer.data):
            raise DeliveryUnknown(f"sendRawMessage accepted without a messageId: {answer.data!r}")
        message_id = str(answer.data)
        if len(message_id) > limits.EXTERNAL_ID_CHARS:  # could be neither stored nor matched to its results
            raise DeliveryUnknown(
                f"sendRawMessage answered a messageId of {len(message_id)} chars (over {limits.EXTERNAL_ID_CHARS})"
            )
        return message_id

    async def raw_messages(self, robot_id: str, message_id: str) -> list[RawMessageRecord]:
        """What the robot executed for a messageId (the fallback when a result callback never came).

        Pages start at 1. `data` is a plain list (one page) or a page object whose `totalPage` (or `total`) says
        whether to read on, up to MAX_RAW_PAGES. Raises UnreadableAnswer when `data` is neither shape."""
        rows: list[Any] = []
        for page in range(1, MAX_RAW_PAGES + 1):
            read = await self._raw_message_page(robot_id, message_id, page)
            rows += read.rows
            if read.total_pages is None or page >= read.total_pages or not read.rows:
                break
        else:
            log.warning(
                "rawMsg/list has more pages than are read",
                robot_id=robot_id,
                command_message_id=message_id,
                pages=read.total_pages,
                read=MAX_RAW_PAGES,
            )
        records = []
        for row in rows:
            try:
                records.append(RawMessageRecord.model_validate(row))
            except ValidationError as exc:
                log.warning("unreadable rawMsg/list row skipped", robot_id=robot_id, row=row, error=str(exc))
        return [r for r in records if r.message_id == message_id]

    async def _raw_message_page(self, robot_id: str, message_id: str, page: int) -> RawMessagePage:
        params = {"messageId": message_id, "page": str(page), "size": str(RAW_PAGE_SIZE), "sort": "run_time,desc"}
        answer = await self._call(
            "GET", "/robot/rawMsg/list", robot_id, params=params, attempts=QUERY_ATTEMPTS, idempotent=True
        )
        try:
            return read_raw_message_page(answer.data, RAW_PAGE_SIZE)
        except ValueError as exc:
            log.warning(
                "unreadable rawMsg/list answer",
                robot_id=robot_id,
                command_message_id=message_id,
                page=page,
                error=str(exc),
            )
            raise UnreadableAnswer(str(exc)) from exc

    async def is_online(self, robot_id: str) -> bool | None:
        """`robotInfo/online`: data true/false (the docs show `{}`; the vendor UI reads data === true)."""
        answer = await self._call("GET", "/robot/robotInfo/online", robot_id, attempts=QUERY_ATTEMPTS, idempotent=True)
        return answer.data if isinstance(answer.data, bool) else None

    async def robot_info(self, robot_id: str) -> RobotInfo:
        """`robotInfo/get`: among others openCallback and replyAll (whether group messages reach us)."""
        answer = await self._call("GET", "/robot/robotInfo/get", robot_id, attempts=QUERY_ATTEMPTS, idempotent=True)
        if not isinstance(answer.data, dict):
            raise UnreadableAnswer(f"robotInfo/get data is not an object: {str(answer.data)[:200]}")
        try:
            return RobotInfo.model_validate(answer.data)
        except ValidationError as exc:
            raise UnreadableAnswer(f"robotInfo/get: {exc}") from exc

    async def bind_message_callback(self, robot_id: str, url: str) -> None:
        """The message callback, bound the way every real client does it (protocol §1.1): `robotInfo/update`
        with openCallback 1 and replyAll 1 (every private and group message, not only @-messages).
        WorkTool test-POSTs the URL and needs HTTP 200 + JSON back."""
        body = {"openCallback": 1, "replyAll": 1, "callbackUrl": url}
        await self._call("POST", "/robot/robotInfo/update", robot_id, body, attempts=QUERY_ATTEMPTS)

    async def bind_callback(self, robot_id: str, callback_type: int, url: str) -> None:
        """Bind the result (1) or online/offline (5/6) callback URL; WorkTool test-POSTs a result URL and needs
        HTTP 200 + JSON back. The message callback is not bound here: see bind_message_callback."""
        if callback_type not in BINDABLE_CALLBACKS:
            raise ValueError(f"callBack/bind takes types {sorted(BINDABLE_CALLBACKS)}, not {callback_type}")
        body = {"type": callback_type, "callBackUrl": url}
        await self._call("POST", "/robot/robotInfo/callBack/bind", robot_id, body, attempts=QUERY_ATTEMPTS)

    async def callbacks(self, robot_id: str) -> list[dict[str, Any]]:
        answer = await self._call(
            "GET", "/robot/robotInfo/callBack/get", robot_id, attempts=QUERY_ATTEMPTS, idempotent=True
        )
        return [row for row in answer.data if isinstance(row, dict)] if isinstance(answer.data, list) else []

    async def _call(
        self,
        method: str,
        path: str,
        robot_id: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
        attempts: int,
        idempotent: bool = False,
    ) -> ApiAnswer:
        retry_on: tuple[type[Exception], ...] = (NotDelivered, DeliveryUnknown) if idempotent else (NotDelivered,)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(retry_on),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.5, max=4),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, {"robotId": robot_id, **(params or {})}, body)
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True

    async def _once(self, method: str, path: str, params: dict[str, str], body: dict[str, Any] | None) -> ApiAnswer:
        try:
            await self._budget.acquire(BUDGET_WAIT_S)
        except RateLimited as exc:
            raise NotDelivered(str(exc)) from exc
        url = self._base + path
        try:
            async with self._session.request(method, url, params=params, json=body, timeout=self._timeout) as resp:
                text = await resp.text()
                status = resp.status
        except aiohttp.ClientConnectorError as exc:  # no connection was made: nothing was sent
            raise NotDelivered(f"cannot connect to WorkTool: {exc}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryUnknown(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if status == 429:  # WorkTool drops requests over its limit
            raise NotDelivered(f"WorkTool rate limit hit (429) on {path}")
        if status >= 500:  # it may have acted before failing
            raise DeliveryUnknown(f"{method} {path}: HTTP {status}: {text[:200]}")
        if status >= 400:  # it read the request and refused it
            raise Rejected(status, text[:200])
        try:
            answer = ApiAnswer.model_validate_json(text)
        except ValidationError as exc:
            raise DeliveryUnknown(f"{method} {path}: unreadable answer: {text[:200]}") from exc
        if answer.code == 429:
            raise NotDelivered(f"WorkTool rate limit hit (code 429) on {path}")
        if not answer.accepted:
            raise Rejected(answer.code, answer.message)
        return answer


def build_worktool_client(settings: Settings, redis: Redis, session: aiohttp.ClientSession) -> WorkToolClient | None:
    """The one builder the web app, the worker and the CLI use. None when no WorkTool API is configured."""
    worktool = settings.worktool
    if not worktool.api_base:
        return None
    budget = RequestBudget(redis, worktool.rate_limit.requests, worktool.rate_limit.window_s)
    return WorkToolClient(session, worktool.api_base, budget, worktool.request_timeout_s)
