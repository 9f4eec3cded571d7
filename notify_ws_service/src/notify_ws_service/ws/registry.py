"""The sockets open on this instance, by user, and the per-instance connection limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from uuid import UUID

from notify_ws_service.fanout.push import Push
from notify_ws_service.metrics import CONNECTIONS
from notify_ws_service.ws.connection import Connection
from shared.ws.close_codes import CloseCode

# A batch's local delivery gives the event loop back after this long. Written in one go, a
# burst to every socket of large groups (200 notifications to 1,000 sockets each) held the
# loop for seconds: no handshake, ping or other push moved meanwhile.
DELIVERY_SLICE = 0.005


class Registry:
    def __init__(self, *, max_connections: int) -> None:
        self._max_connections = max_connections
        self._reserved = 0
        self._by_user: dict[UUID, dict[str, Connection]] = {}

    def reserve(self) -> bool:
        """Take a slot at the handshake, before any await, so a burst cannot overshoot."""
        if self._reserved >= self._max_connections:
            return False
        self._reserved += 1
        CONNECTIONS.inc()
        return True

    def release(self) -> None:
        self._reserved -= 1
        CONNECTIONS.dec()

    def add(self, connection: Connection) -> bool:
        """Returns True when this is the user's first socket here (subscribe the user)."""
        sockets = self._by_user.setdefault(connection.user_id, {})
        sockets[connection.id] = connection
        return len(sockets) == 1

    def remove(self, connection: Connection) -> bool:
        """Returns True when the user has no socket left here (unsubscribe the user)."""
        sockets = self._by_user.get(connection.user_id)
        if sockets is None or sockets.pop(connection.id, None) is None:
            return False
        if not sockets:
            del self._by_user[connection.user_id]
            return True
        return False

    async def deliver_all(
        self, pushes: Sequence[Push], *, slice_seconds: float = DELIVERY_SLICE
    ) -> None:
        """Each user's pushes, in order, to each of the user's sockets in one write;
        yields to the event loop between sockets once a slice has passed (by the clock,
        not the loop's cached time, which stands still)."""
        by_user: dict[UUID, list[Push]] = {}
        for push in pushes:
            by_user.setdefault(push.user_id, []).append(push)
        until = time.monotonic() + slice_seconds
        for user_id, own in by_user.items():
            for connection in list(self._by_user.get(user_id, {}).values()):
                connection.offer_all(own)
                if time.monotonic() >= until:
                    await asyncio.sleep(0)
                    until = time.monotonic() + slice_seconds

    def end_session(self, session_id: UUID, user_id: UUID) -> None:
        """auth_service ended the session: its sockets here close (every instance learns
        of it on its own)."""
        for connection in list(self._by_user.get(user_id, {}).values()):
            if connection.session_id == session_id:
                connection.close(CloseCode.UNAUTHORIZED, "session ended")

    def connections(self) -> Iterator[Connection]:
        for sockets in list(self._by_user.values()):
            yield from list(sockets.values())

    @property
    def open(self) -> int:
        return self._reserved
