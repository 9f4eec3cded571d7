"""A session auth_service ends (logout) is refused at once: its token gets 401 over REST,
its open sockets close with 4401; the user's other sessions and anonymous callers go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import serve_orders, ws_client

WAIT = 30


@pytest.fixture
async def orders_url(make_settings: SettingsFactory, auth_service_url: str) -> AsyncIterator[str]:
    async with serve_orders(make_settings()) as url:
        yield url


async def test_a_logged_out_session_is_refused_and_its_sockets_closed(
    orders_url: str, auth_service_url: str
) -> None:
    user = await register_and_login(auth_service_url)
    async with httpx.AsyncClient(base_url=auth_service_url, timeout=WAIT) as auth:
        again = await auth.post(
            "/api/v1/auth/login", data={"username": user.email, "password": user.password}
        )
        other = {"Authorization": f"Bearer {again.json()['access_token']}"}
        async with (
            httpx.AsyncClient(base_url=orders_url, timeout=WAIT) as orders,
            ws_client(orders_url, token=user.access_token) as ended_socket,
            ws_client(orders_url, headers=other) as other_socket,
        ):
            assert (await orders.get("/api/v1/orders", headers=user.headers)).status_code == 200

            logout = await auth.post("/api/v1/auth/logout", headers=user.headers)
            assert logout.status_code == 204

            with pytest.raises(ConnectionClosed):
                await ended_socket.recv(timeout=WAIT)
            closed = ended_socket.connection
            assert (closed.close_code, closed.close_reason) == (4401, "session ended")
            refused = await orders.get("/api/v1/orders", headers=user.headers)
            assert refused.status_code == 401
            assert refused.json() == {"error": "InvalidToken", "detail": "session ended"}
            assert (await orders.get("/api/v1/orders", headers=other)).status_code == 200
            assert (await orders.get("/api/v1/orders")).status_code == 200
            listed = await other_socket.request({"action": "list_orders"})
            assert (listed["type"], listed["orders"]) == ("result", [])
        async with ws_client(orders_url, token=user.access_token) as refused_socket:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(refused_socket.connection.recv(), WAIT)
            assert refused_socket.connection.close_code == 4401
