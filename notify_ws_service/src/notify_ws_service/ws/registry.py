"""The sockets open on this instance, by user, and the per-instance connection limit."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from notify_ws_service.fanout.push import Push
from notify_ws_service.metrics import CONNECTIONS
from notify_ws_service.ws.connection import Connection


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

    def deliver(self, push: Push) -> None:
        for connection in list(self._by_user.get(push.user_id, {}).values()):
            connection.offer(push)

    def connections(self) -> Iterator[Connection]:
        for sockets in list(self._by_user.values()):
            yield from list(sockets.values())

    @property
    def open(self) -> int:
        return self._reserved
