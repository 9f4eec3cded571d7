"""One socket: a bounded send queue drained by its own writer task.

Fan-out only enqueues an already encoded frame and never waits: a client that stops
reading fills its queue and is dropped, and never slows anyone else down.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from starlette.websockets import WebSocket

from notify_ws_service.fanout.push import Push, recovered_frame
from notify_ws_service.metrics import DEDUPLICATED, DELIVERED, DROPPED
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
        dedupe_window: int,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.user_id = user_id
        self.version = version
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._seen: OrderedDict[UUID, None] = OrderedDict()
        self._dedupe_window = dedupe_window
        # Live pushes that arrive while ``?since=`` catch-up runs wait here, so the
        # client sees the inbox order first.
        self._held: list[Push] | None = None
        # After ``?since=``: the anchor's place in the inbox. The client has everything up
        # to it, so a push at or before it (a redelivered record pushed again) is dropped.
        self._resumed_after: int | None = None
        self.close_request: CloseRequest | None = None
        self.closing = asyncio.Event()

    def offer(self, push: Push) -> None:
        """Enqueue a push unless this socket already had it; never blocks."""
        if self.closing.is_set():
            return
        if self._held is not None:
            if len(self._held) >= self._queue.maxsize:
                self.close(CloseCode.POLICY_VIOLATION, "send queue full", dropped="slow")
                return
            self._held.append(push)
            return
        if push.message_id in self._seen:
            DEDUPLICATED.labels("connection").inc()
            return
        if _at_or_before(push.seq, self._resumed_after):
            DEDUPLICATED.labels("resumed").inc()
            return
        self._remember(push.message_id)
        self._enqueue(push.frame(self.version))

    def begin_recovery(self) -> None:
        self._held = []

    def end_recovery(self, replay: list[Push], *, complete: bool, after: int | None = None) -> None:
        """Queue the missed notifications, the recovered marker, then what was held;
        ``after`` is the place of the ``since`` anchor in the inbox, when it was found."""
        held, self._held = self._held or [], None
        self._resumed_after = after
        for push in replay:
            self.offer(push)
        self._enqueue(recovered_frame(complete=complete))
        for push in held:
            self.offer(push)

    def _remember(self, message_id: UUID) -> None:
        self._seen[message_id] = None
        if len(self._seen) > self._dedupe_window:
            self._seen.popitem(last=False)

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


def _at_or_before(seq: int | None, anchor: int | None) -> bool:
    return seq is not None and anchor is not None and seq <= anchor
