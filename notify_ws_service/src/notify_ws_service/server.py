"""uvicorn, with the gateway's WebSocket protocol, socket path and shutdown order.

uvicorn closes every socket first and runs the app's shutdown last; the gateway must
stop consuming (and commit) before its sockets go, or it would consume notifications
for sockets already closed.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from notify_ws_service.config import Settings
from notify_ws_service.gateway import Gateway
from notify_ws_service.ws.router import WS_PATH
from notify_ws_service.ws.session import run_socket
from shared.app import CorrelationMiddleware
from shared.http import server_options
from shared.ws.wire import WireWebSocketProtocol


class GatewayServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, gateway: Gateway) -> None:
        super().__init__(config)
        self.gateway = gateway

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.gateway.drain()
        await super().shutdown(sockets)


def sockets_first(app: FastAPI) -> ASGIApp:
    """The notification socket's path goes straight to its handler. Through the app's
    middleware and router, every open socket would hold their chain of frames and
    wrappers for its lifetime: about a third of its memory."""
    gateway: Gateway = app.state.gateway

    async def socket(scope: Scope, receive: Receive, send: Send) -> None:
        await run_socket(gateway, WebSocket(scope, receive, send))

    socket_app = CorrelationMiddleware(socket)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            await socket_app(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        **server_options(settings),
        "ws": WireWebSocketProtocol,
        "lifespan": "on",
        "ws_max_size": settings.ws_max_size,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_timeout,
        **overrides,
    }
    return uvicorn.Config(sockets_first(app), **options)


def gateway_server(app: FastAPI, settings: Settings, **overrides: Any) -> GatewayServer:
    return GatewayServer(uvicorn_config(app, settings, **overrides), app.state.gateway)
