"""One socket: its user's pushes in inbox order, written straight to its wire.

Fan-out never waits: a frame goes into the socket's transport buffer at once, and a
client that stops reading lets that buffer grow past ``max_buffer`` bytes and is dropped,
so it never slows anyone else down. The frames of a batch for one socket go out in one
write: a frame each cost a call and, once the loop flushes between them, a send each.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from notify_ws_service.fanout.push import Push, recovered_frame
from notify_ws_service.metrics import DELIVERED, DROPPED
from notify_ws_service.ws.ordering import Fill, InOrder
from shared.ws.close_codes import CloseCode
from shared.ws.wire import TextFrame, Wire


@dataclass(frozen=True)
class Start:
    """Where a socket starts: after position ``last`` (None: after the first push to
    arrive), with the ``?since=`` replay and whether it was complete, if asked for."""

    last: int | None
    replay: Sequence[Push] = ()
    recovered: bool | None = None


@dataclass(frozen=True)
class CloseRequest:
    code: int
    reason: str


class Connection:
    def __init__(
        self,
        wire: Wire,
        *,
        user_id: UUID,
        version: int,
        max_buffer: int,
        max_waiting: int,
        fill: Fill,
        fill_limit: int,
        close_timeout: float,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.user_id = user_id
        # The login session of the socket's token: when auth_service ends it, it closes.
        self.session_id: UUID | None = None
        self.version = version
        self._wire = wire
        self._max_buffer = max_buffer
        self._close_timeout = close_timeout
        self.buffered = 0
        self._open = False
        # While :meth:`offer_all` runs: the frames it sends, written together at its end.
        self._held: list[TextFrame] | None = None
        # Pushes wait in here until :meth:`open`, so ``?since=`` catch-up goes first.
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
            max_ahead=max_waiting,
        )
        self.close_request: CloseRequest | None = None

    @property
    def closing(self) -> bool:
        return self.close_request is not None

    def offer(self, push: Push) -> None:
        """Take a push of this socket's user; never blocks. Sent in inbox order, once."""
        if self.close_request is None:
            self._order.offer(push)

    def offer_all(self, pushes: Sequence[Push]) -> None:
        """:meth:`offer` each, and write what they send in one go."""
        if self.close_request is not None:
            return
        self._held = []
        try:
            for push in pushes:
                self._order.offer(push)
        finally:
            self._release()

    def open(self, start: Start) -> None:
        """Once accepted: send the replay and its ``recovered`` frame, if any, then every
        push after ``start.last``. A close asked for before this is sent now instead."""
        self._open = True
        if self.close_request is not None:
            request = self.close_request
            self._wire.close(request.code, request.reason, timeout=self._close_timeout)
            return
        for push in start.replay:
            self._send(push)
        if start.recovered is not None:
            self.send_control(recovered_frame(complete=start.recovered))
        self._order.start(start.last)

    def _send(self, push: Push) -> None:
        self._write(push.frame(self.version))

    def _write(self, frame: TextFrame) -> None:
        if self.close_request is not None:
            return
        if self._held is not None:
            self._held.append(frame)
        else:
            self._put((frame,))

    def _release(self) -> None:
        held, self._held = self._held, None
        if held:
            self._put(held)

    def _put(self, frames: Sequence[TextFrame]) -> None:
        buffered = self._wire.write(*frames)
        if buffered is None:
            return
        self.buffered = buffered
        DELIVERED.inc(len(frames))
        if self.buffered > self._max_buffer:
            self.close(CloseCode.POLICY_VIOLATION, "send queue full", dropped="slow")

    def send_control(self, text: str) -> None:
        """A reply to the client (errors, acks), in order with the pushes."""
        self._write(TextFrame.of(text))

    def close(self, code: int, reason: str, *, dropped: str | None = None) -> None:
        if self.close_request is not None:
            return
        # What was sent before the close goes out before its frame (and may close first).
        self._release()
        if self.close_request is not None:
            return
        if dropped is not None:
            DROPPED.labels(dropped).inc()
        self.close_request = CloseRequest(code, reason)
        self._order.stop()
        if self._open:
            self._wire.close(code, reason, timeout=self._close_timeout)
