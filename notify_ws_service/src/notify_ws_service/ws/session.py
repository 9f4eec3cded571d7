"""The notification socket, from handshake to close.

Handshake: Origin check and the instance's connection limit (HTTP 403 / 503), then the
token against auth_service (close 4401, or 1013 when auth_service cannot be asked), then
the user's socket cap (close 4429), then the subscription to the user's channel and the
read of where the client is in its inbox (``?since=`` catch-up). Only then is the socket
accepted and anything sent. While open: a writer
drains the socket's queue, a reader handles the client's frames, a watcher closes the
socket at its token's expiry (after a grace) and re-checks revocation periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from notify_ws_service.auth.verifier import AuthUnavailable, Identity, InvalidToken
from notify_ws_service.errors import NotificationNotFound
from notify_ws_service.inbox import service
from notify_ws_service.metrics import REJECTED_HANDSHAKES
from notify_ws_service.ws.connection import Connection
from shared.db import session_scope
from shared.errors import error_body
from shared.logging import get_logger
from shared.ws.auth import handshake_token
from shared.ws.close_codes import CloseCode
from shared.ws.rate import TokenBucket

if TYPE_CHECKING:
    from notify_ws_service.gateway import Gateway

log = get_logger(__name__)


@dataclass
class TokenState:
    token: str
    identity: Identity
    changed: asyncio.Event = field(default_factory=asyncio.Event)


async def run_socket(gateway: Gateway, websocket: WebSocket) -> None:
    settings = gateway.settings
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
        await _handshake(gateway, websocket)
    finally:
        gateway.registry.release()


async def _refuse(websocket: WebSocket, code: int, reason: str, metric: str) -> None:
    """Close codes reach a client only after the upgrade, so accept, then close at once."""
    REJECTED_HANDSHAKES.labels(metric).inc()
    await websocket.accept()
    await websocket.close(code, reason[:120])


async def _handshake(gateway: Gateway, websocket: WebSocket) -> None:
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
    connection = Connection(
        websocket,
        user_id=identity.user_id,
        version=int(version_text),
        queue_size=gateway.settings.send_queue_size,
        fill=functools.partial(gateway.inbox_reads.between, identity.user_id),
        fill_limit=gateway.inbox_reads.limit,
    )
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
        await _serve(gateway, connection, TokenState(token, identity), since)
    finally:
        with contextlib.suppress(Exception):
            await gateway.presence.release(identity.user_id, connection.id)


async def _serve(
    gateway: Gateway, connection: Connection, state: TokenState, since: UUID | None
) -> None:
    user_id = connection.user_id
    gateway.registry.add(connection)
    tasks: list[asyncio.Task[Any]] = []
    subscribed = False
    try:
        try:
            await gateway.subscriptions.acquire(user_id)
            subscribed = True
        except Exception as exc:
            # Redis is unreachable: this socket would miss what other instances consume.
            log.warning("ws.subscribe_failed", user_id=str(user_id), error=repr(exc))
            connection.close(CloseCode.TRY_AGAIN_LATER, "try again later")
        try:
            if subscribed:
                await _start(gateway, connection, since)
            # Open only now: a client that sees the socket open gets everything stored
            # from then on.
            await connection.websocket.accept()
            if not connection.closing.is_set():
                log.info("ws.connected", user_id=str(user_id), connection=connection.id)
                tasks = [
                    asyncio.create_task(connection.write_forever()),
                    asyncio.create_task(_read(gateway, connection, state)),
                    asyncio.create_task(_watch(gateway, connection, state)),
                    asyncio.create_task(connection.closing.wait()),
                ]
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if subscribed:
                await gateway.subscriptions.release(user_id)
    finally:
        gateway.registry.remove(connection)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await _close(gateway, connection)


async def _start(gateway: Gateway, connection: Connection, since: UUID | None) -> None:
    """Find where the client is in its inbox. Subscribed already: pushes published from
    now on wait in the connection until it knows which of them to send."""
    user_id = connection.user_id
    if since is None:
        try:
            last = await gateway.inbox_reads.last_position(user_id)
        except Exception as exc:
            # Without the inbox the first push to arrive is where the socket starts.
            log.warning("ws.start_unknown", user_id=str(user_id), error=repr(exc))
            last = None
        connection.start(last=last)
        return
    try:
        caught_up = await gateway.inbox_reads.catch_up(user_id, since)
    except Exception as exc:
        log.warning("ws.catch_up_failed", user_id=str(user_id), error=repr(exc))
        connection.close(CloseCode.TRY_AGAIN_LATER, "catch-up failed, try again later")
        return
    connection.start(last=caught_up.last, replay=caught_up.missed, recovered=caught_up.complete)


async def _close(gateway: Gateway, connection: Connection) -> None:
    request = connection.close_request
    if request is not None:
        log.info(
            "ws.closing",
            user_id=str(connection.user_id),
            connection=connection.id,
            code=int(request.code),
            reason=request.reason,
        )
        # A client that stopped reading may never take the close frame: do not wait on it.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                connection.websocket.close(request.code, request.reason),
                gateway.settings.close_timeout,
            )
    log.info("ws.disconnected", user_id=str(connection.user_id), connection=connection.id)


def _error(error: str, detail: str = "") -> str:
    return json.dumps({"type": "error", "error": error, "detail": detail})


async def _read(gateway: Gateway, connection: Connection, state: TokenState) -> None:
    settings = gateway.settings
    bucket = TokenBucket(settings.frames_per_second, settings.frame_burst)
    websocket = connection.websocket
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
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
            connection.send_control(_error("invalid_json"))
            continue
        if not isinstance(frame, dict):
            connection.send_control(_error("invalid_frame", "a JSON object is expected"))
            continue
        await _handle_frame(gateway, connection, state, frame)


async def _handle_frame(
    gateway: Gateway, connection: Connection, state: TokenState, frame: dict[str, Any]
) -> None:
    kind = frame.get("type")
    if kind == "ping":
        connection.send_control(json.dumps({"type": "pong"}))
    elif kind == "refresh":
        await _refresh(gateway, connection, state, frame.get("token"))
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
    gateway: Gateway, connection: Connection, state: TokenState, token: object
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
    state.token, state.identity = token, identity
    state.changed.set()
    connection.send_control(json.dumps({"type": "refreshed", "exp": identity.exp}))


async def _watch(gateway: Gateway, connection: Connection, state: TokenState) -> None:
    """Close at expiry plus grace unless refreshed; re-check revocation meanwhile."""
    settings = gateway.settings
    next_check = time.time() + settings.revalidate_interval
    while True:
        deadline = state.identity.exp + settings.expiry_grace
        wake = min(deadline, next_check)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.changed.wait(), max(0.0, wake - time.time()))
        if state.changed.is_set():
            state.changed.clear()
            continue
        now = time.time()
        if now >= state.identity.exp + settings.expiry_grace:
            connection.close(CloseCode.UNAUTHORIZED, "token expired")
            return
        if now < next_check:
            continue
        next_check = now + settings.revalidate_interval
        if now >= state.identity.exp:
            continue  # in the grace period: only a refresh helps now
        try:
            await gateway.verifier.verify(state.token)
        except InvalidToken as exc:
            connection.close(CloseCode.UNAUTHORIZED, str(exc))
            return
        except AuthUnavailable:
            log.warning("ws.revalidation_skipped", connection=connection.id)
