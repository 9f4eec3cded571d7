"""Sockets with identities from a stand-in verifier: superusers' view, token expiry,
slow readers. (Real tokens from auth_service are in tests/auth.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from websockets.exceptions import ConnectionClosed

from orders_service.main import create_app
from orders_service.ws.connection import Connection
from shared.auth.tokens import TokenClaims, TokenError
from shared.testing.server import serve
from shared.ws.close_codes import CloseCode
from tests.conftest import SettingsFactory
from tests.support import ws_client


def claims(*, superuser: bool = False, ttl: float = 600) -> TokenClaims:
    return TokenClaims(
        user_id=uuid4(),
        email="someone@example.com",
        display_name="Someone",
        is_superuser=superuser,
        session_id=uuid4(),
        token_id=uuid4(),
        exp=int(time.time() + ttl),
    )


class StubVerifier:
    def __init__(self) -> None:
        self.tokens: dict[str, TokenClaims] = {}

    def issue(self, holder: TokenClaims) -> str:
        token = uuid4().hex
        self.tokens[token] = holder
        return token

    async def verify(self, token: str) -> TokenClaims:
        try:
            return self.tokens[token]
        except KeyError:
            raise TokenError("invalid token") from None


@pytest.fixture
async def served(make_settings: SettingsFactory) -> AsyncIterator[tuple[str, StubVerifier]]:
    app = create_app(make_settings())
    verifier = StubVerifier()
    app.state.runtime.verifier = verifier
    async with serve(app) as url:
        yield url, verifier


class TestSuperuser:
    async def test_sees_and_hears_everyones_orders(self, served: tuple[str, StubVerifier]) -> None:
        url, verifier = served
        owner, admin = verifier.issue(claims()), verifier.issue(claims(superuser=True))
        async with ws_client(url, token=owner) as owner_ws, ws_client(url, token=admin) as admin_ws:
            await owner_ws.request({"action": "create_order", "customer": "mine"})
            assert (await admin_ws.recv())["order_id"] == 1
            reply = await admin_ws.request(
                {"action": "change_status", "order_id": 1, "status": "cancelled"}
            )
            assert reply["order"]["status"] == "cancelled"
            assert (await admin_ws.recv())["status"] == "cancelled"
            assert (await owner_ws.recv_until("order_status_changed"))["status"] == "cancelled"
            listed = await admin_ws.request({"action": "list_orders"})
            assert [o["id"] for o in listed["orders"]] == [1]


async def _answer_until_closed(ws: Any) -> None:
    """Keep the socket busy; only the server's close ends this."""
    while True:
        assert await ws.request({"action": "ping"}) == {"type": "pong"}
        await asyncio.sleep(0.1)


class TestTokenLifetime:
    async def test_the_socket_closes_4401_when_its_token_expires(
        self, served: tuple[str, StubVerifier]
    ) -> None:
        url, verifier = served
        token = verifier.issue(claims(ttl=1))
        async with ws_client(url, token=token) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await _answer_until_closed(ws)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "token expired")

    async def test_an_already_expired_token_is_refused(
        self, served: tuple[str, StubVerifier]
    ) -> None:
        url, verifier = served
        token = verifier.issue(claims(ttl=-5))
        with pytest.raises(ConnectionClosed) as closed:
            async with ws_client(url, token=token) as ws:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)


class TestSlowReader:
    async def test_a_full_queue_asks_for_close_and_drops_further_frames(self) -> None:
        socket: Any = FakeSocket()
        connection = Connection(socket, user=None, queue_size=2)
        for n in range(3):
            connection.offer({"n": n})
        assert connection.closing.is_set()
        assert connection.close_request is not None
        assert connection.close_request.code == CloseCode.POLICY_VIOLATION
        connection.offer({"n": 99})
        writer = asyncio.create_task(connection.run_writer())
        await asyncio.sleep(0)
        writer.cancel()
        assert socket.sent == ['{"n":0}', '{"n":1}']
