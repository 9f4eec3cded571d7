"""One socket: a bounded send queue drained by its own writer task.

Replies and broadcasts only enqueue and never wait, so a client that stops reading fills
its own queue and is dropped without slowing anyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from shared.auth.tokens import TokenClaims
from shared.ws.close_codes import CloseCode


@dataclass(frozen=True)
class CloseRequest:
    code: int
    reason: str


class Connection:
    def __init__(self, websocket: WebSocket, *, user: TokenClaims | None, queue_size: int) -> None:
        self.websocket = websocket
        self._user = user
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_size)
        self.close_request: CloseRequest | None = None
        self.closing = asyncio.Event()

    @property
    def user(self) -> TokenClaims | None:
        return self._user

    def offer(self, frame: dict[str, Any]) -> None:
        self.offer_text(json.dumps(frame, separators=(",", ":")))

    def offer_text(self, text: str) -> None:
        if self.closing.is_set():
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CloseCode.POLICY_VIOLATION, "send queue full: read faster")

    def close(self, code: int, reason: str) -> None:
        """Ask for the socket to be closed once what is already queued went out."""
        if self.closing.is_set():
            return
        self.close_request = CloseRequest(code, reason)
        self.closing.set()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def run_writer(self) -> None:
        while (text := await self._queue.get()) is not None:
            await self.websocket.send_text(text)
