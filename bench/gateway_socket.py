"""A minimal WebSocket client protocol for holding thousands of sockets per process.

The gateway benchmark needs the client side to be much cheaper than the server it
measures: a full client library costs several times the server's work per frame and
tens of KiB per socket. This one does only what a benchmark client needs: the upgrade
request, parsing the server's (unmasked) frames, answering pings and closes. No
extensions are offered, so per-message deflate is never negotiated.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

TEXT, CLOSE, PING = 0x1, 0x8, 0x9
# The client must mask its frames; a zero key is a valid mask and leaves the payload as is.
_ZERO_MASK = b"\x00\x00\x00\x00"

# (payload, monotonic time of arrival) for each text frame.
OnText = Callable[[bytes, float], None]


def _client_frame(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + _ZERO_MASK + payload


def upgrade_request(url: str) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


class ClientSocket(asyncio.Protocol):
    """One socket. ``upgraded`` resolves True on 101, False on any other answer."""

    def __init__(self, url: str, on_text: OnText) -> None:
        self._url = url
        self._on_text = on_text
        self._buffer = bytearray()
        self._open = False
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closed = False
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        transport = self.transport
        transport.write(upgrade_request(self._url))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._open:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buffer[: self._buffer.find(b"\r\n")])
            del self._buffer[: end + 4]
            self._open = status.split(b" ", 2)[1:2] == [b"101"]
            if not self.upgraded.done():
                self.upgraded.set_result(self._open)
            if not self._open:
                self._shut()
                return
        self._parse(time.monotonic())

    def _parse(self, now: float) -> None:
        buffer = self._buffer
        size = len(buffer)
        position = 0
        while size - position >= 2:
            length = buffer[position + 1] & 0x7F
            head = 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 4], "big")
                head = 4
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 10], "big")
                head = 10
            end = position + head + length
            if end > size:
                break
            opcode = buffer[position] & 0x0F
            payload = bytes(buffer[position + head : end])
            position = end
            if opcode == TEXT:
                self._on_text(payload, now)
            elif opcode == PING:
                self._send(_client_frame(0xA, payload))
            elif opcode == CLOSE:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self._send(_client_frame(CLOSE, payload[:2]))
                self._shut()
                break
        del buffer[:position]

    def _send(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def _shut(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.upgraded.done():
            self.upgraded.set_result(False)

    def close(self) -> None:
        """Close without the closing handshake: the benchmark is over."""
        if self.transport is not None:
            self.transport.abort()

    def pause(self) -> None:
        """Stop reading: the kernel buffers fill, then the server's."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
