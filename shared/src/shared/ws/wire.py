"""uvicorn's WebSocket protocol plus a synchronous path for server-sent frames.

Through ASGI ``send`` every frame to every socket costs an await, a queue and a writer
task per socket. Served with :class:`WireWebSocketProtocol` (uvicorn's ``ws=``), each
socket's scope carries its protocol as the ``wire`` extension instead: a frame encoded
once is written to each socket's transport as is (server frames are not masked, so the
bytes are the same for every socket), and the transport's write buffer is the socket's
bounded send queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request

WIRE = "wire"


@dataclass(frozen=True, slots=True)
class TextFrame:
    payload: bytes
    # The whole frame as a server sends it without extensions.
    encoded: bytes

    @classmethod
    def of(cls, text: str) -> TextFrame:
        payload = text.encode()
        return cls(payload, Frame(Opcode.TEXT, payload).serialize(mask=False))


class Wire(Protocol):
    def write(self, *frames: TextFrame) -> int | None:
        """Send now, in order and in one write (the socket must be accepted); returns
        the bytes not yet sent, or None when the socket is closing and nothing was
        written."""
        ...

    def close(self, code: int, reason: str, *, timeout: float) -> None:
        """Send a close frame now and end the socket for the app; the connection is cut
        if the client has not answered within ``timeout`` seconds."""
        ...


def wire_of(websocket: WebSocket) -> Wire | None:
    wire: Wire | None = websocket.scope.get("extensions", {}).get(WIRE)
    return wire


class WireWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The app's task is created, not yet run: it sees the extension.
        if self.response.status_code == 101:
            extensions = cast(dict[str, Any], self.scope["extensions"])
            extensions[WIRE] = self

    def write(self, *frames: TextFrame) -> int | None:
        if self.close_sent or self.transport.is_closing():
            return None
        if self.conn.extensions:
            for frame in frames:
                self.conn.send_text(frame.payload)
            self.transport.write(b"".join(self.conn.data_to_send()))
        elif len(frames) == 1:
            self.transport.write(frames[0].encoded)
        else:
            self.transport.write(b"".join(frame.encoded for frame in frames))
        return self.transport.get_write_buffer_size()

    def close(self, code: int, reason: str, *, timeout: float) -> None:
        # ASGI's close waits while the write buffer is full: a client that stopped
        # reading would never be closed that way.
        if self.close_sent or self.transport.is_closing():
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        # abort, not close: close would wait for the unread buffer to drain.
        self.close_timer = self.loop.call_later(timeout, self.transport.abort)
