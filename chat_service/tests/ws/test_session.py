"""Socket life: token expiry and refresh, the per-user socket cap, auth unavailable, a
client that stops reading, a server without the services' WebSocket protocol."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import uuid4

import httpx
import websockets

from chat_service.main import create_app
from shared.auth.tokens import SigningKey
from shared.devbroker import free_port
from shared.testing.server import serve, tiny_receive_buffer
from tests.conftest import MakeSettings, sign
from tests.helpers import Api, Person, Socket, connect, ws_url


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
            assert garbage["error"] == "InvalidToken"
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


class TestSlowReader:
    async def test_a_client_that_stops_reading_is_dropped_1013_and_the_others_get_everything(
        self, make_settings: MakeSettings, alice: Person, bob: Person
    ) -> None:
        app = create_app(
            make_settings(
                ws_send_buffer_bytes=64 * 1024,
                ws_close_timeout=30,
                ws_frames_per_second=10_000,
                ws_frame_burst=10_000,
            )
        )
        # 6 MB of events: past what the kernel buffers for a client that stops reading
        # (up to 4 MB here), then past the 64 KiB the server holds for it.
        text, count = "x" * 3990, 1500
        async with (
            serve(app) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
            connect(url, "/ws", alice) as sender,
            connect(url, "/ws", bob) as reader,
            # max_queue=1: the client library stops reading the TCP stream at once.
            connect(url, "/ws", bob, max_queue=1, sock=tiny_receive_buffer(url)) as stalled,
        ):
            chat = await Api(client, url).create_chat(alice, bob)
            # The sender reads its replies and events, or it would be dropped too.
            draining = asyncio.create_task(_drain(sender))
            for n in range(count):
                await sender.send(
                    {"action": "send_message", "chat_id": chat["id"], "text": f"{n} {text}"}
                )
            seqs = [(await reader.event("message_created"))["data"]["seq"] for _ in range(count)]
            assert seqs == list(range(1, count + 1))
            # What reached the stalled client before the drop, then the close frame.
            code, reason = await stalled.closed(timeout=30)
            assert (code, reason) == (1013, "too far behind; reconnect")
            assert len(stalled.received) < count
            assert (await reader.request("ping"))["pong"] is True
            draining.cancel()


async def _drain(socket_: Socket) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in socket_.connection:
            pass


class TestServer:
    async def test_without_the_services_websocket_protocol_sockets_close_1011(
        self, make_settings: MakeSettings, alice: Person
    ) -> None:
        plain = serve(create_app(make_settings()), ws="websockets-sansio")
        async with plain as url, connect(url, "/ws", alice) as socket_:
            assert await socket_.closed() == (1011, "not served by the chat's server")
