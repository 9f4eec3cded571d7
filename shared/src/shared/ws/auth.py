"""Where a WebSocket handshake carries its access token."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def handshake_token(connection: HTTPConnection) -> str | None:
    """``?token=`` first (browsers cannot set headers), then ``Authorization: Bearer``."""
    token = connection.query_params.get("token")
    if token:
        return token
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None
