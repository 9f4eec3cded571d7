"""Where a WebSocket handshake carries its access token."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def handshake_token(connection: HTTPConnection) -> str | None:
    """``?token=`` first (browsers cannot set headers), then ``Authorization: Bearer``.

    Other credentials in the header (``Basic``, a bare token) are returned as they are,
    so that they fail verification: never taken for no credentials, which some sockets
    accept as anonymous."""
    token = connection.query_params.get("token")
    if token:
        return token
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return header
