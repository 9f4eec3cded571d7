"""What a client may send on the socket, and the replies."""

from __future__ import annotations

import json

from shared.testing.auth_service import register_and_login
from tests.support import Served, close_code, connect, receive_json


class TestClientFrames:
    async def test_bad_frames_get_error_replies_and_the_socket_stays(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        async with connect(gateway.ws_url(user.access_token)) as ws:
            await ws.send("{not json")
            assert (await receive_json(ws)) == {
                "type": "error",
                "error": "invalid_json",
                "detail": "the frame is not JSON",
            }
            await ws.send("[]")
            assert (await receive_json(ws))["error"] == "invalid_frame"
            await ws.send(json.dumps({"type": "subscribe"}))
            reply = await receive_json(ws)
            assert reply["error"] == "unknown_type"
            assert reply["supported"] == ["refresh", "ack", "read", "ping"]
            await ws.send(b"\x00binary")
            assert (await receive_json(ws))["error"] == "text_only"
            await ws.send(json.dumps({"type": "read", "id": "x"}))
            assert (await receive_json(ws))["error"] == "invalid_id"
            await ws.send(json.dumps({"type": "ping"}))
            assert await receive_json(ws) == {"type": "pong"}


class TestQuery:
    async def test_bad_since_and_version_close_4400(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        async with connect(gateway.ws_url(user.access_token, since="yesterday")) as ws:
            assert (await close_code(ws))[0] == 4400
        async with connect(gateway.ws_url(user.access_token, v="3")) as ws:
            assert (await close_code(ws))[0] == 4400
