"""One socket: a bounded send queue drained by its own writer task.

Fan-out only enqueues an already encoded frame and never waits: a client that stops
reading fills its queue and is dropped, and never slows anyone else down.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from starlette.websockets import WebSocket

from notify_ws_service.fanout.push import Push, recovered_frame
from notify_ws_service.metrics import DELIVERED, DROPPED
from notify_ws_service.ws.ordering import Fill, InOrder
from shared.ws.close_codes import CloseCode


@dataclass(frozen=True)
class CloseRequest:
    code: int
    reason: str


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        *,
        user_id: UUID,
        version: int,
        queue_size: int,
        fill: Fill,
        fill_limit: int,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.user_id = user_id
        self.version = version
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        # Pushes wait in here until :meth:`start`, so ``?since=`` catch-up goes first.
        self._order = InOrder(
            send=self._send,
            fill=fill,
            fill_limit=fill_limit,
            failed=lambda: self.close(
                CloseCode.TRY_AGAIN_LATER, "catch-up failed, try again later"
            ),
            overflowed=lambda: self.close(
                CloseCode.POLICY_VIOLATION, "send queue full", dropped="slow"
            ),
            max_ahead=queue_size,
        )
        self.close_request: CloseRequest | None = None
        self.closing = asyncio.Event()

    def offer(self, push: Push) -> None:
        """Take a push of this socket's user; never blocks. Sent in inbox order, once."""
        if not self.closing.is_set():
            self._order.offer(push)

    def start(
        self, *, last: int | None, replay: Sequence[Push] = (), recovered: bool | None = None
    ) -> None:
        """Send the ``?since=`` replay and its ``recovered`` frame, if any, then every
        push after position ``last`` (None: after the first push to arrive)."""
        for push in replay:
            self._send(push)
        if recovered is not None:
            self._enqueue(recovered_frame(complete=recovered))
        self._order.start(last)

    def _send(self, push: Push) -> None:
        self._enqueue(push.frame(self.version))

    def _enqueue(self, frame: str) -> None:
        if self.closing.is_set():
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.close(CloseCode.POLICY_VIOLATION, "send queue full", dropped="slow")

    def send_control(self, frame: str) -> None:
        """A reply to the client (errors, acks) through the same ordered queue."""
        self._enqueue(frame)

    def close(self, code: int, reason: str, *, dropped: str | None = None) -> None:
        if self.closing.is_set():
            return
        if dropped is not None:
            DROPPED.labels(dropped).inc()
        self.close_request = CloseRequest(code, reason)
        self.closing.set()
        self._order.stop()
        # Free the frames at once: a dropped client's backlog is never sent.
        while not self._queue.empty():
            self._queue.get_nowait()

    async def write_forever(self) -> None:
        while True:
            frame = await self._queue.get()
            await self.websocket.send_text(frame)
            DELIVERED.inc()

    @property
    def queued(self) -> int:
        return self._queue.qsize()
