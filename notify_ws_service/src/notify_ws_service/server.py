"""uvicorn, with the gateway's shutdown order.

uvicorn closes every socket first and runs the app's shutdown last; the gateway must
stop consuming (and commit) before its sockets go, or it would consume notifications
for sockets already closed.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from notify_ws_service.config import Settings
from notify_ws_service.gateway import Gateway


class GatewayServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, gateway: Gateway) -> None:
        super().__init__(config)
        self.gateway = gateway

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.gateway.drain()
        await super().shutdown(sockets)


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "lifespan": "on",
        "ws_per_message_deflate": False,
        "ws_max_size": settings.ws_max_size,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_timeout,
        **overrides,
    }
    return uvicorn.Config(app, **options)


def gateway_server(app: FastAPI, settings: Settings, **overrides: Any) -> GatewayServer:
    return GatewayServer(uvicorn_config(app, settings, **overrides), app.state.gateway)
