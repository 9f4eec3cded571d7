"""The seed 004 endpoint: ``/api/v1/notify/ws?token=<access token>``."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from notify_ws_service.ws.session import run_socket

WS_PATH = "/api/v1/notify/ws"

router = APIRouter()


@router.websocket(WS_PATH)
async def notification_socket(websocket: WebSocket) -> None:
    """Query: ``token`` (or ``Authorization: Bearer``), ``v=2`` for the full envelope,
    ``since=<last id>`` to catch up on what was missed."""
    await run_socket(websocket.app.state.gateway, websocket)
