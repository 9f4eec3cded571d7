"""Socket life: token expiry and refresh, the per-user socket cap, auth unavailable."""

from __future__ import annotations

from uuid import uuid4

import httpx
import websockets

from chat_service.main import create_app
from shared.auth.tokens import SigningKey
from shared.devbroker import free_port
from shared.testing.server import serve
from tests.conftest import MakeSettings, sign
from tests.helpers import Person, connect, ws_url


class TestTokenLifetime:
    async def test_a_socket_closes_4401_when_its_token_expires_unless_refreshed(
        self, make_settings: MakeSettings, signing_key: SigningKey, alice: Person
    ) -> None:
        app = create_app(make_settings(ws_token_grace_seconds=0))
        short = sign(signing_key, alice.id, "Alice", ttl=2)
        async with (
            serve(app) as url,
            connect(url, "/ws", short) as expiring,
            connect(url, "/ws", sign(signing_key, alice.id, "Alice", ttl=2)) as refreshed,
        ):
            reply = await refreshed.request("refresh", token=alice.token)
            assert reply["type"] == "result"
            assert reply["expires_in"] > 60
            someone_else = sign(signing_key, uuid4(), "Other")
            refused = await refreshed.request("refresh", token=someone_else.token)
            assert refused["error"] == "TokenUserMismatch"
            garbage = await refreshed.request("refresh", token="garbage")
            assert garbage["error"] == "Unauthorized"
            assert await expiring.closed() == (4401, "token expired")
            # Both tokens were equally short; the refreshed socket outlives its first.
            assert (await refreshed.request("ping"))["pong"] is True


class TestLimits:
    async def test_too_many_sockets_of_one_user_close_4429(
        self, make_settings: MakeSettings, alice: Person
    ) -> None:
        app = create_app(make_settings(ws_max_sockets_per_user=2))
        async with serve(app) as url, connect(url, "/ws", alice), connect(url, "/ws", alice):
            async with connect(url, "/ws", alice) as third:
                code, _ = await third.closed()
            assert code == 4429


class TestAuthUnavailable:
    async def test_sockets_close_1013_and_rest_answers_503(
        self, make_settings: MakeSettings, alice: Person
    ) -> None:
        app = create_app(make_settings(auth_url=f"http://127.0.0.1:{free_port()}"))
        async with serve(app) as url:
            async with websockets.connect(ws_url(url, "/ws", alice.token)) as connection:
                await connection.wait_closed()
            assert connection.close_code == 1013
            async with httpx.AsyncClient(base_url=url) as client:
                response = await client.get("/api/v1/chats", headers=alice.headers)
            assert response.status_code == 503
