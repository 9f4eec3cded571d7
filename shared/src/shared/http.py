"""HTTP between services: how servers are run and how services call each other.

A client that reuses a pooled connection just as the server closes it for being idle gets
no answer (httpx: "Server disconnected without sending a response"). With uvicorn's and
httpx's defaults both sides give up on an idle connection after 5 s, so such a race hit
the gateway's token checks now and then. Clients here drop idle connections well before
any server does.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.config import ServiceSettings

# How long a service keeps an idle connection to another for reuse; under every server's
# keep-alive (ServiceSettings.http_keep_alive).
CLIENT_KEEP_ALIVE = 30.0


def service_client() -> httpx.AsyncClient:
    """A client for calls to other services of the suite."""
    return httpx.AsyncClient(limits=httpx.Limits(keepalive_expiry=CLIENT_KEEP_ALIVE))


def server_options(settings: ServiceSettings) -> dict[str, Any]:
    """uvicorn's options common to every service (each adds its WebSocket ones)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "timeout_keep_alive": settings.http_keep_alive,
        "ws_per_message_deflate": False,
    }
