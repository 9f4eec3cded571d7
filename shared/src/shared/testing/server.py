"""Serve an ASGI app on a real port inside the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from shared.config import ServiceSettings
from shared.http import server_options
from shared.ws.wire import WireWebSocketProtocol


@asynccontextmanager
async def serve(app: ASGIApp, *, port: int = 0, **config: Any) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 as the services run (``config`` overrides
    that), with their WebSocket protocol; yields its base URL ``http://host:port``."""
    settings = ServiceSettings.model_construct(host="127.0.0.1", port=port)
    options = {**server_options(settings), "lifespan": "on", "ws": WireWebSocketProtocol}
    server = uvicorn.Server(uvicorn.Config(app, **{**options, **config}))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await task


def tiny_receive_buffer(base_url: str) -> socket.socket:
    """A connected client socket whose receive window stays small, so a client that
    stops reading on it stalls the server's writes after a few kilobytes (pass it to
    ``websockets.connect(..., sock=)``)."""
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    sock = socket.socket()
    # Before connecting, so the window is small from the start.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    return sock
