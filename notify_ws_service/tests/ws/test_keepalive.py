"""Protocol-level pings: a peer that never answers them is closed after the pong timeout."""

from __future__ import annotations

import asyncio
import base64
import os
import struct

from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import serve_gateway


async def test_a_silent_peer_is_closed_after_the_pong_timeout(
    auth_service_url: str, make_settings: SettingsFactory
) -> None:
    user = await register_and_login(auth_service_url)
    settings = make_settings(ws_ping_interval=0.3, ws_ping_timeout=0.3)
    async with serve_gateway(settings, wait_consuming=False) as gateway:
        host, port = gateway.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        # A hand-made client: it completes the upgrade and then never answers a ping.
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /api/v1/notify/ws?token={user.access_token} HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        assert b" 101 " in status
        async with asyncio.timeout(20):
            await reader.readuntil(b"\r\n\r\n")
            opcodes, close_code = [], None
            while close_code is None:
                first, length = await reader.readexactly(2)
                payload = await reader.readexactly(length & 0x7F)
                opcodes.append(first & 0x0F)
                if first & 0x0F == 0x8:
                    close_code = struct.unpack("!H", payload[:2])[0]
        writer.close()
        assert 0x9 in opcodes, "the server pinged"
        assert close_code == 1011
