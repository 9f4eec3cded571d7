"""The life of a socket, the same for every endpoint: authenticate at the handshake,
register with the hub, then read frames one at a time under size and rate limits.

No database session is held between frames: each action opens its own unit of work.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from starlette.websockets import WebSocket

from chat_service.auth import authenticate
from chat_service.chats import presence, repository
from chat_service.context import Actor
from chat_service.metrics import WS_FRAMES_REFUSED
from chat_service.state import ChatState
from chat_service.ws.connection import Connection
from shared.errors import ServiceError, ServiceUnavailable
from shared.logging import get_logger
from shared.metrics import WS_CONNECTIONS
from shared.ws.auth import handshake_token
from shared.ws.close_codes import CloseCode
from shared.ws.rate import TokenBucket
from shared.ws.wire import wire_of

log = get_logger(__name__)

FrameHandler = Callable[[Connection, dict[str, Any]], Awaitable[None]]


def state_of(websocket: WebSocket) -> ChatState:
    state: ChatState = websocket.app.state.chat
    return state


async def reject(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept, then close with a code: a refused handshake would hide the reason."""
    await websocket.accept()
    await websocket.close(code, reason[:120])


async def chat_access(state: ChatState, actor: Actor, chat_id: UUID) -> tuple[int, str] | None:
    """Seed 000's per-chat socket: members (and superusers) only."""
    async with state.sessionmaker() as session:
        if await repository.get_chat(session, chat_id) is None:
            return CloseCode.NOT_FOUND, "no such chat"
        member = await repository.get_member(session, chat_id, actor.user_id)
    if member is None and not actor.is_superuser:
        return CloseCode.FORBIDDEN, "not a member of this chat"
    return None


async def serve_socket(
    websocket: WebSocket,
    *,
    endpoint: str,
    handler: FrameHandler,
    chat_id: UUID | None = None,
    events: bool = True,
) -> None:
    state = state_of(websocket)
    settings = state.settings
    wire = wire_of(websocket)
    if wire is None:
        log.error("ws.no_wire", detail="serve chat_service with `python -m chat_service serve`")
        await reject(websocket, CloseCode.INTERNAL_ERROR, "not served by the chat's server")
        return
    try:
        actor, claims = await authenticate(state.verifier, handshake_token(websocket))
    except ServiceError as exc:
        unavailable = isinstance(exc, ServiceUnavailable)
        code = CloseCode.TRY_AGAIN_LATER if unavailable else CloseCode.UNAUTHORIZED
        await reject(websocket, code, exc.detail)
        return
    if chat_id is not None and (refusal := await chat_access(state, actor, chat_id)):
        await reject(websocket, *refusal)
        return
    if state.hub.sockets_of(actor.user_id) >= settings.ws_max_sockets_per_user:
        await reject(websocket, CloseCode.TOO_MANY_REQUESTS, "too many open sockets")
        return
    connection = Connection(
        websocket,
        wire,
        actor,
        expires_at=claims.exp + settings.ws_token_grace_seconds,
        max_buffer=settings.ws_send_buffer_bytes,
        close_timeout=settings.ws_close_timeout,
        chat_id=chat_id,
        events=events,
    )
    # Registered before the handshake completes: once the client is connected, no
    # event for it can be missed.
    try:
        await state.hub.register(connection)
    except Exception as exc:
        log.error("ws.register_failed", error=repr(exc))
        await reject(websocket, CloseCode.TRY_AGAIN_LATER, "events unavailable; try again later")
        return
    if claims.session_id in state.ended:
        # Ended while the chat was looked up: the hub's closing missed this socket.
        await state.hub.unregister(connection)
        await reject(websocket, CloseCode.UNAUTHORIZED, "session ended")
        return
    log.info("ws.opened", endpoint=endpoint, user_id=str(actor.user_id))
    gauge = WS_CONNECTIONS.labels(endpoint)
    watchdog = None
    try:
        await websocket.accept()
        connection.open()
        gauge.inc()
        watchdog = asyncio.create_task(_expire(connection))
        if events:  # a socket that hears nothing (`/create_chat`) is no one's presence
            await presence.socket_opened(state, actor.user_id)
        await _read_frames(websocket, connection, state, handler)
    finally:
        await state.hub.unregister(connection)
        connection.close(CloseCode.NORMAL, "closing")
        if watchdog is not None:
            watchdog.cancel()
            gauge.dec()
            if events:
                restarting = connection.close_code == CloseCode.SERVICE_RESTART
                await presence.socket_closed(state, actor.user_id, tell=not restarting)
        log.info(
            "ws.closed",
            endpoint=endpoint,
            user_id=str(actor.user_id),
            code=connection.close_code,
        )


async def _expire(connection: Connection) -> None:
    """Close the socket when its token (plus grace) runs out; ``refresh`` extends it."""
    while not connection.closed:
        remaining = connection.expires_at - time.time()
        if remaining <= 0:
            connection.close(CloseCode.UNAUTHORIZED, "token expired")
            return
        await asyncio.sleep(min(remaining, 60))


async def _read_frames(
    websocket: WebSocket, connection: Connection, state: ChatState, handler: FrameHandler
) -> None:
    settings = state.settings
    bucket = TokenBucket(settings.ws_frames_per_second, settings.ws_frame_burst)
    strikes = 0
    while not connection.closed:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            if message.get("code") == CloseCode.SERVICE_RESTART:
                # The server is shutting down: tell the client to reconnect elsewhere.
                connection.close(CloseCode.SERVICE_RESTART, "server restart")
            return
        raw: str | None = message.get("text")
        size = len(message.get("bytes") or b"") if raw is None else len(raw.encode())
        if size > settings.ws_max_frame_bytes:
            WS_FRAMES_REFUSED.labels("size").inc()
            connection.close(CloseCode.MESSAGE_TOO_BIG, "frame too large")
            return
        if not bucket.take():
            WS_FRAMES_REFUSED.labels("rate").inc()
            strikes += 1
            if strikes >= settings.ws_flood_strikes:
                connection.close(CloseCode.TOO_MANY_REQUESTS, "too many frames")
                return
            connection.send(
                {
                    "type": "error",
                    "error": "rate_limited",
                    "detail": f"at most {settings.ws_frames_per_second:g} frames per second; "
                    "this frame was dropped",
                }
            )
            continue
        strikes = 0
        if raw is None:
            connection.send(
                {"type": "error", "error": "text_only", "detail": "send JSON as text frames"}
            )
            continue
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError):
            # RecursionError: nested deeper than the parser goes, which is no JSON to us.
            connection.send({"type": "error", "error": "invalid_json"})
            continue
        if not isinstance(payload, dict):
            connection.send(
                {"type": "error", "error": "invalid_request", "detail": "send a JSON object"}
            )
            continue
        try:
            await handler(connection, payload)
        except Exception as exc:
            log.exception("ws.frame_failed", error=repr(exc))
            connection.send({"type": "error", "error": "internal_error"})
