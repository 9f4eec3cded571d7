"""``/ws/orders``: the seed's socket, with an optional token, a frame-rate cap and
broadcasts scoped to who may see each order."""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from orders_service.auth import identify
from orders_service.errors import AuthUnavailable, InvalidToken
from orders_service.runtime import Runtime
from orders_service.ws import protocol
from orders_service.ws.connection import Connection
from orders_service.ws.handlers import handle
from shared.auth.tokens import TokenClaims
from shared.logging import get_logger
from shared.metrics import WS_CONNECTIONS
from shared.ws.auth import handshake_token
from shared.ws.close_codes import CloseCode
from shared.ws.rate import TokenBucket

log = get_logger(__name__)
router = APIRouter()

ENDPOINT = "/ws/orders"
# How long queued frames may take to go out before a requested close.
_DRAIN_TIMEOUT = 2.0


@router.websocket(ENDPOINT)
async def orders_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        user = await identify(runtime.verifier, handshake_token(websocket))
    except InvalidToken as exc:
        await _refuse(websocket, CloseCode.UNAUTHORIZED, exc.detail)
        return
    except AuthUnavailable:
        await _refuse(websocket, CloseCode.TRY_AGAIN_LATER, "auth unavailable, try again later")
        return
    connection = Connection(websocket, user=user, queue_size=runtime.settings.send_queue_size)
    # Subscribed before the handshake completes: a client that has its socket open has
    # every broadcast committed from then on (queued until the writer starts).
    runtime.hub.add(connection)
    try:
        await websocket.accept()
    except Exception:
        runtime.hub.discard(connection)
        raise
    WS_CONNECTIONS.labels(ENDPOINT).inc()
    writer = asyncio.create_task(connection.run_writer(), name="orders-ws-writer")
    reader = asyncio.create_task(_read(runtime, connection), name="orders-ws-reader")
    closing = asyncio.create_task(connection.closing.wait())
    try:
        _, pending = await asyncio.wait(
            {reader, writer, closing},
            timeout=_seconds_left(user),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if pending == {reader, writer, closing}:
            connection.close(CloseCode.UNAUTHORIZED, "token expired")
    finally:
        runtime.hub.discard(connection)
        WS_CONNECTIONS.labels(ENDPOINT).dec()
        reader.cancel()
        closing.cancel()
        await _finish(websocket, connection, writer)


async def _read(runtime: Runtime, connection: Connection) -> None:
    settings = runtime.settings
    websocket = connection.websocket
    bucket = TokenBucket(settings.frames_per_second, settings.frame_burst)
    refused = 0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw: str | None = message.get("text")
        if not bucket.take():
            refused += 1
            if refused == 1:
                connection.offer(
                    protocol.error_frame(protocol.RATE_LIMITED, detail="too many frames: slow down")
                )
            if refused > settings.flood_tolerance:
                connection.close(CloseCode.TOO_MANY_REQUESTS, "too many frames")
                return
            continue
        refused = 0
        if len(raw if raw is not None else message.get("bytes") or b"") > settings.ws_max_size:
            connection.close(CloseCode.MESSAGE_TOO_BIG, "frame too large")
            return
        if raw is None:
            connection.offer(
                protocol.error_frame(protocol.TEXT_ONLY, detail="send JSON as text frames")
            )
            continue
        connection.offer(await handle(runtime.operations, connection.user, raw))


async def _finish(websocket: WebSocket, connection: Connection, writer: asyncio.Task[None]) -> None:
    request = connection.close_request
    if request is None or writer.done():
        writer.cancel()
    else:
        # Let the frames queued before the close (a last error frame) go out first.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, _DRAIN_TIMEOUT)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await writer
    if websocket.application_state is WebSocketState.CONNECTED and (
        websocket.client_state is WebSocketState.CONNECTED
    ):
        code, reason = (request.code, request.reason) if request else (CloseCode.NORMAL, "")
        with contextlib.suppress(Exception):
            await websocket.close(code, reason)


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    # Accept first: a close before the handshake reaches the client as a bare HTTP 403.
    await websocket.accept()
    await websocket.close(code, reason)


def _seconds_left(user: TokenClaims | None) -> float | None:
    """A socket lives no longer than its token."""
    return None if user is None else max(0.0, user.exp - time.time())
