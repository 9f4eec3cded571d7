"""One open socket: an outgoing queue drained by a writer task.

Replies and events go through the same queue, so a client sees them in the order they
happened; the hub only enqueues, so one slow socket never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.websockets import WebSocket

from chat_service.context import Actor
from chat_service.realtime.frames import Outgoing
from shared.ws.close_codes import CloseCode


@dataclass(frozen=True)
class Close:
    code: int
    reason: str


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        actor: Actor,
        *,
        expires_at: float,
        queue_size: int,
        chat_id: UUID | None = None,
        events: bool = True,
    ) -> None:
        self.websocket = websocket
        self.actor = actor
        self.expires_at = expires_at
        # Seed 000's per-chat socket hears only its chat and ends with it.
        self.chat_id = chat_id
        self._chat_key = None if chat_id is None else str(chat_id)
        self.events = events
        self._queue: asyncio.Queue[str | Close] = asyncio.Queue(maxsize=queue_size)
        self.closed = False
        self.close_code: int | None = None

    @property
    def user_id(self) -> UUID:
        return self.actor.user_id

    def offer(self, event: Outgoing) -> None:
        if not self.events:
            return
        if self.chat_id is None:
            self._put(event.text)
            return
        if event.chat_id != self._chat_key:
            return
        self._put(event.text)
        if event.event == "chat_deleted":
            self.close(CloseCode.NORMAL, "chat deleted")
        elif event.event == "member_removed" and str(self.user_id) in event.removed:
            self.close(CloseCode.FORBIDDEN, "removed from the chat")

    def send(self, frame: dict[str, Any]) -> None:
        self._put(json.dumps(frame, separators=(",", ":"), default=str))

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        if self._queue.full():
            # A socket this far behind is dropped; what it missed it can catch up on.
            while not self._queue.empty():
                self._queue.get_nowait()
            code, reason = CloseCode.TRY_AGAIN_LATER, "too far behind; reconnect"
            self.close_code = code
        self._queue.put_nowait(Close(code, reason))

    def _put(self, item: str) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.close(CloseCode.TRY_AGAIN_LATER, "too far behind; reconnect")

    async def run_writer(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, Close):
                with contextlib.suppress(Exception):
                    await self.websocket.close(item.code, item.reason)
                return
            try:
                await self.websocket.send_text(item)
            except Exception:
                self.closed = True
                return
