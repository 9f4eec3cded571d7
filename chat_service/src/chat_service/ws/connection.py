"""One open socket, written to straight through its wire.

Replies and events are written at once, in the order they happen, into the socket's
transport buffer; the hub never waits, and a client that stops reading lets that buffer
grow past ``max_buffer`` bytes and is dropped, so one slow socket never holds up the
others. What the hub offers before the handshake completes waits until :meth:`open`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from starlette.websockets import WebSocket

from chat_service.context import Actor
from chat_service.realtime.frames import PRESENCE, Outgoing
from shared.ws.close_codes import CloseCode
from shared.ws.wire import TextFrame, Wire

TOO_FAR_BEHIND = "too far behind; reconnect"


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        wire: Wire,
        actor: Actor,
        *,
        expires_at: float,
        max_buffer: int,
        close_timeout: float,
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
        # Presence events come only to a socket that asked for them.
        self.watches_presence = False
        self._wire = wire
        self._max_buffer = max_buffer
        self._close_timeout = close_timeout
        # Frames offered before the handshake completed; None once open.
        self._held: list[TextFrame] | None = []
        # While :meth:`offer_all` runs: its frames, written together at its end.
        self._batch: list[TextFrame] | None = None
        self.closed = False
        self.close_code: int | None = None
        self._close_reason = ""

    @property
    def user_id(self) -> UUID:
        return self.actor.user_id

    def open(self) -> None:
        """Once accepted: write what waited, then the close asked for meanwhile, if any
        (the event that closed a per-chat socket goes out before its close frame)."""
        held, self._held = self._held or [], None
        code = self.close_code
        if held:
            self._put(held)
        if code is not None:
            self._wire.close(code, self._close_reason, timeout=self._close_timeout)

    def offer_all(self, events: Sequence[Outgoing]) -> None:
        """:meth:`offer` each, and write what they send in one go."""
        self._batch = []
        try:
            for event in events:
                self.offer(event)
        finally:
            self._release()

    def offer(self, event: Outgoing) -> None:
        if not self.events:
            return
        if event.event == PRESENCE:
            if self.watches_presence:
                self._write(event.frame)
            return
        if self.chat_id is None:
            self._write(event.frame)
            return
        if event.chat_id != self._chat_key:
            return
        self._write(event.frame)
        if event.event == "chat_deleted":
            self.close(CloseCode.NORMAL, "chat deleted")
        elif event.event == "member_removed" and str(self.user_id) in event.removed:
            self.close(CloseCode.FORBIDDEN, "removed from the chat")

    def send(self, frame: dict[str, Any]) -> None:
        self._write(TextFrame.of(json.dumps(frame, separators=(",", ":"), default=str)))

    def end_session(self, session_id: UUID) -> None:
        if self.actor.session_id == session_id:
            self.close(CloseCode.UNAUTHORIZED, "session ended")

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        # What was sent before the close goes out before its frame (and may close first).
        self._release()
        if self.closed:
            return
        self.closed = True
        self.close_code, self._close_reason = code, reason
        if self._held is None:
            self._wire.close(code, reason, timeout=self._close_timeout)

    def _write(self, frame: TextFrame) -> None:
        if self.closed:
            return
        if self._held is not None:
            self._held.append(frame)
        elif self._batch is not None:
            self._batch.append(frame)
        else:
            self._put((frame,))

    def _release(self) -> None:
        batch, self._batch = self._batch, None
        if batch:
            self._put(batch)

    def _put(self, frames: Sequence[TextFrame]) -> None:
        buffered = self._wire.write(*frames)
        if buffered is None:  # the client is gone
            self.closed = True
        elif buffered > self._max_buffer:
            # A socket this far behind is dropped; what it missed it can catch up on.
            self.close(CloseCode.TRY_AGAIN_LATER, TOO_FAR_BEHIND)
