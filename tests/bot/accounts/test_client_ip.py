"""Which address failed logins are counted against: the peer, or behind a trusted proxy the address it saw."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from bot.accounts.session import CONSOLE, client_ip
from bot.settings import ConsoleSettings


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.7", [], "203.0.113.7"),  # no proxy
        ("203.0.113.7", ["10.9.9.9"], "203.0.113.7"),  # an untrusted peer cannot claim another address
        ("127.0.0.1", [], "127.0.0.1"),  # a local client without a proxy
        ("127.0.0.1", ["198.51.100.4"], "198.51.100.4"),  # nginx on the host
        ("127.0.0.1", ["1.1.1.1, 198.51.100.4"], "198.51.100.4"),  # the client's own claim is left of nginx's
        ("127.0.0.1", ["1.1.1.1", "198.51.100.4, 127.0.0.1"], "198.51.100.4"),  # two headers, a trusted hop
    ],
)
def test_client_ip(peer: str, forwarded: list[str], expected: str) -> None:
    app = web.Application()
    app[CONSOLE] = ConsoleSettings()
    headers = CIMultiDict[str]([("X-Forwarded-For", value) for value in forwarded])
    request = make_mocked_request("POST", "/login", headers=headers, app=app).clone(remote=peer)
    assert client_ip(request) == expected
