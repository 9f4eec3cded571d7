"""HTTP between services: how servers are run and how services call each other.

A client that reuses a pooled connection just as the server closes it for being idle gets
no answer (httpx: "Server disconnected without sending a response"). With uvicorn's and
httpx's defaults both sides give up on an idle connection after 5 s, so such a race hit
the gateway's token checks now and then. Clients here drop idle connections well before
any server does (a server that restarts still closes them under a client).
"""

from __future__ import annotations

from typing import TypedDict

import httpx

from shared.config import CLIENT_KEEP_ALIVE, ServiceSettings


class ServerOptions(TypedDict):
    host: str
    port: int
    log_config: None
    timeout_keep_alive: int
    forwarded_allow_ips: str
    ws_per_message_deflate: bool


def service_client() -> httpx.AsyncClient:
    """A client for calls to other services of the suite: httpx's pool limits, shorter
    idle connections."""
    limits = httpx.Limits(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=CLIENT_KEEP_ALIVE
    )
    return httpx.AsyncClient(limits=limits)


def server_options(settings: ServiceSettings) -> ServerOptions:
    """uvicorn's options common to every service; each adds its own WebSocket limits."""
    return ServerOptions(
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_keep_alive=settings.http_keep_alive,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ws_per_message_deflate=False,
    )
