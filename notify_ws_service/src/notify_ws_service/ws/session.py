"""The notification socket, from handshake to close.

Handshake: Origin check and the instance's connection limit (HTTP 403 / 503), then the
token against auth_service (close 4401, or 1013 when auth_service cannot be asked), then
the user's socket cap (close 4429), then the subscription to the user's channel and the
read of where the client is in its inbox (``?since=`` catch-up). Only then is the socket
accepted and anything sent. While open, the socket's one task reads the client's
frames; pushes are written by whoever delivers them (:mod:`.connection`), and a timer
watches the token (:mod:`.token_watch`).
"""

from __future__ import annotations

import contextlib
import functools
import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from notify_ws_service.auth.verifier import AuthUnavailable
from notify_ws_service.errors import NotificationNotFound
from notify_ws_service.inbox import service
from notify_ws_service.metrics import REJECTED_HANDSHAKES
from notify_ws_service.ws.connection import Connection, Start
from notify_ws_service.ws.token_watch import TokenState, TokenWatch
from shared.db import session_scope
from shared.errors import InvalidToken, error_body
from shared.logging import get_logger
from shared.ws.auth import handshake_token
from shared.ws.close_codes import CloseCode
from shared.ws.rate import TokenBucket
from shared.ws.wire import Wire, wire_of

if TYPE_CHECKING:
    from notify_ws_service.gateway import Gateway

log = get_logger(__name__)


async def run_socket(gateway: Gateway, websocket: WebSocket) -> None:
    settings = gateway.settings
    wire = wire_of(websocket)
    if wire is None:
        log.error("ws.no_wire", detail="serve the gateway with `python -m notify_ws_service serve`")
        await websocket.send_denial_response(
            JSONResponse(error_body("InternalError", "not served by the gateway's server"), 500)
        )
        return
    origin = websocket.headers.get("origin")
    if settings.allowed_origins and origin is not None and origin not in settings.allowed_origins:
        REJECTED_HANDSHAKES.labels("origin").inc()
        await websocket.send_denial_response(
            JSONResponse(error_body("Forbidden", "origin not allowed"), status_code=403)
        )
        return
    if not gateway.registry.reserve():
        REJECTED_HANDSHAKES.labels("capacity").inc()
        await websocket.send_denial_response(
            JSONResponse(
                error_body("ServiceUnavailable", "connection limit reached, try another instance"),
                status_code=503,
                headers={"Retry-After": "5"},
            )
        )
        return
    try:
        await _handshake(gateway, websocket, wire)
    finally:
        gateway.registry.release()


async def _refuse(websocket: WebSocket, code: int, reason: str, metric: str) -> None:
    """Close codes reach a client only after the upgrade, so accept, then close at once."""
    REJECTED_HANDSHAKES.labels(metric).inc()
    await websocket.accept()
    await websocket.close(code, reason[:120])


async def _handshake(gateway: Gateway, websocket: WebSocket, wire: Wire) -> None:
    params = websocket.query_params
    version_text = params.get("v", "1")
    if version_text not in ("1", "2"):
        await _refuse(websocket, CloseCode.BAD_REQUEST, "v must be 1 or 2", "bad_request")
        return
    since: UUID | None = None
    if params.get("since"):
        try:
            since = UUID(params["since"])
        except ValueError:
            await _refuse(websocket, CloseCode.BAD_REQUEST, "since must be an id", "bad_request")
            return
    token = handshake_token(websocket)
    if not token:
        await _refuse(websocket, CloseCode.UNAUTHORIZED, "missing token", "unauthenticated")
        return
    try:
        identity = await gateway.verifier.verify(token)
    except InvalidToken as exc:
        await _refuse(websocket, CloseCode.UNAUTHORIZED, str(exc), "unauthenticated")
        return
    except AuthUnavailable:
        await _refuse(
            websocket, CloseCode.TRY_AGAIN_LATER, "auth unavailable, try again later", "auth_down"
        )
        return
    settings = gateway.settings
    connection = Connection(
        wire,
        user_id=identity.user_id,
        version=int(version_text),
        max_buffer=settings.send_buffer_bytes,
        max_waiting=settings.send_queue_size,
        fill=functools.partial(gateway.inbox_reads.between, identity.user_id),
        fill_limit=gateway.inbox_reads.limit,
        close_timeout=settings.close_timeout,
    )
    connection.session_id = identity.session_id
    try:
        admitted = await gateway.presence.acquire(identity.user_id, connection.id)
    except Exception as exc:
        log.warning("presence.unavailable", error=repr(exc))
        await _refuse(websocket, CloseCode.TRY_AGAIN_LATER, "try again later", "presence_down")
        return
    if not admitted:
        await _refuse(
            websocket, CloseCode.TOO_MANY_REQUESTS, "too many sockets for this user", "user_cap"
        )
        return
    try:
        await _serve(gateway, websocket, connection, TokenState(token, identity), since)
    finally:
        with contextlib.suppress(Exception):
            await gateway.presence.release(identity.user_id, connection.id)


async def _serve(
    gateway: Gateway,
    websocket: WebSocket,
    connection: Connection,
    state: TokenState,
    since: UUID | None,
) -> None:
    user_id = connection.user_id
    gateway.registry.add(connection)
    try:
        try:
            await gateway.subscriptions.acquire(user_id)
        except Exception as exc:
            # Redis is unreachable: this socket would miss what other instances consume.
            log.warning("ws.subscribe_failed", user_id=str(user_id), error=repr(exc))
            await _refuse(websocket, CloseCode.TRY_AGAIN_LATER, "try again later", "bus_down")
            return
        try:
            start = await _where_to_start(gateway, connection, since)
            # Open only now: a client that sees the socket open gets everything stored
            # from then on.
            await websocket.accept()
            connection.open(start)
            if not connection.closing:
                log.info("ws.connected", user_id=str(user_id), connection=connection.id)
                watch = TokenWatch(
                    connection,
                    state,
                    gateway.verifier,
                    revalidate_interval=gateway.settings.revalidate_interval,
                    expiry_grace=gateway.settings.expiry_grace,
                )
                try:
                    await _read(gateway, websocket, connection, watch)
                finally:
                    watch.stop()
        finally:
            await gateway.subscriptions.release(user_id)
    finally:
        gateway.registry.remove(connection)
    request = connection.close_request
    if request is not None:
        log.info(
            "ws.closing",
            user_id=str(user_id),
            connection=connection.id,
            code=int(request.code),
            reason=request.reason,
        )
    log.info("ws.disconnected", user_id=str(user_id), connection=connection.id)


async def _where_to_start(gateway: Gateway, connection: Connection, since: UUID | None) -> Start:
    """Where the client is in its inbox. Subscribed already: pushes published from now
    on wait in the connection until it opens."""
    user_id = connection.user_id
    if since is None:
        try:
            return Start(last=await gateway.inbox_reads.last_position(user_id))
        except Exception as exc:
            # Without the inbox the first push to arrive is where the socket starts.
            log.warning("ws.start_unknown", user_id=str(user_id), error=repr(exc))
            return Start(last=None)
    try:
        caught_up = await gateway.inbox_reads.catch_up(user_id, since)
    except Exception as exc:
        log.warning("ws.catch_up_failed", user_id=str(user_id), error=repr(exc))
        connection.close(CloseCode.TRY_AGAIN_LATER, "catch-up failed, try again later")
        return Start(last=None)
    return Start(last=caught_up.last, replay=caught_up.missed, recovered=caught_up.complete)


def _error(error: str, detail: str = "") -> str:
    return json.dumps({"type": "error", "error": error, "detail": detail})


async def _read(
    gateway: Gateway, websocket: WebSocket, connection: Connection, watch: TokenWatch
) -> None:
    """Until the client or the server closes: a close from the server (a slow client
    dropped, an expired token) ends the wait here too."""
    settings = gateway.settings
    bucket = TokenBucket(settings.frames_per_second, settings.frame_burst)
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect" or connection.closing:
            return
        if not bucket.take():
            connection.close(CloseCode.TOO_MANY_REQUESTS, "too many frames")
            return
        text = message.get("text")
        if text is None:
            connection.send_control(_error("text_only", "send JSON text frames"))
            continue
        try:
            frame = json.loads(text)
        except ValueError:
            connection.send_control(_error("invalid_json", "the frame is not JSON"))
            continue
        if not isinstance(frame, dict):
            connection.send_control(_error("invalid_frame", "a JSON object is expected"))
            continue
        await _handle_frame(gateway, connection, watch, frame)


async def _handle_frame(
    gateway: Gateway, connection: Connection, watch: TokenWatch, frame: dict[str, Any]
) -> None:
    kind = frame.get("type")
    if kind == "ping":
        connection.send_control(json.dumps({"type": "pong"}))
    elif kind == "refresh":
        await _refresh(gateway, connection, watch, frame.get("token"))
    elif kind in ("ack", "read"):
        try:
            message_id = UUID(str(frame.get("id")))
        except ValueError:
            connection.send_control(_error("invalid_id", "id must be a notification id"))
            return
        mark = service.mark_delivered if kind == "ack" else service.mark_read
        try:
            async with session_scope(gateway.sessionmaker) as session:
                await mark(session, user_id=connection.user_id, message_id=message_id)
        except NotificationNotFound as exc:
            connection.send_control(_error("not_found", exc.detail))
    else:
        connection.send_control(
            json.dumps(
                {
                    "type": "error",
                    "error": "unknown_type",
                    "supported": ["refresh", "ack", "read", "ping"],
                }
            )
        )


async def _refresh(
    gateway: Gateway, connection: Connection, watch: TokenWatch, token: object
) -> None:
    if not isinstance(token, str) or not token:
        connection.send_control(_error("invalid_token", "token is required"))
        return
    try:
        identity = await gateway.verifier.verify(token)
    except InvalidToken as exc:
        connection.send_control(_error("invalid_token", str(exc)))
        return
    except AuthUnavailable:
        connection.send_control(_error("auth_unavailable", "try again later"))
        return
    if identity.user_id != connection.user_id:
        connection.send_control(_error("invalid_token", "the token is another user's"))
        return
    watch.refreshed(token, identity)
    connection.send_control(json.dumps({"type": "refreshed", "exp": identity.exp}))
