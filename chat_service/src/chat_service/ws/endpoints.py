"""WebSocket routes: ``/ws`` and seed 000's ``/ws/chat/{chat_id}``, ``/create_chat``,
``/info`` (also readable over plain HTTP)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket

from chat_service.ws.legacy import handle_chat_frame, handle_create_chat_frame, info_document
from chat_service.ws.protocol import handle_frame
from chat_service.ws.session import reject, serve_socket
from shared.ws.close_codes import CloseCode

router = APIRouter()


@router.websocket("/ws")
async def user_socket(websocket: WebSocket) -> None:
    await serve_socket(websocket, endpoint="/ws", handler=handle_frame)


@router.websocket("/ws/chat/{chat_id}")
async def chat_socket(websocket: WebSocket, chat_id: str) -> None:
    try:
        chat = UUID(chat_id)
    except ValueError:
        await reject(websocket, CloseCode.NOT_FOUND, "no such chat")
        return
    await serve_socket(websocket, endpoint="/ws/chat", handler=handle_chat_frame, chat_id=chat)


@router.websocket("/create_chat")
async def create_chat_socket(websocket: WebSocket) -> None:
    await serve_socket(
        websocket, endpoint="/create_chat", handler=handle_create_chat_frame, events=False
    )


@router.websocket("/info")
async def info_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(info_document())
    await websocket.close(CloseCode.NORMAL)


@router.get("/info", tags=["websocket"], summary="How to use the chat over WebSocket")
async def info() -> dict[str, Any]:
    return info_document()
