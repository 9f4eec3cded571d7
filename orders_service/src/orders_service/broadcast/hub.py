"""The sockets of this instance, and delivery of broadcasts to those allowed to see them."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from orders_service.broadcast.messages import OrderBroadcast
from shared.auth.tokens import TokenClaims
from shared.ws.close_codes import CloseCode


class Subscriber(Protocol):
    @property
    def user(self) -> TokenClaims | None: ...

    def offer_text(self, text: str) -> None:
        """Queue an encoded frame without waiting."""

    def close(self, code: int, reason: str) -> None:
        """Close once what is queued has gone out."""


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def add(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)

    def discard(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def __len__(self) -> int:
        return len(self._subscribers)

    def end_session(self, session_id: UUID, user_id: UUID) -> None:
        """auth_service ended the session: the sockets opened with its token close
        (every instance learns of it on its own)."""
        for subscriber in list(self._subscribers):
            user = subscriber.user
            if user is not None and user.session_id == session_id:
                subscriber.close(CloseCode.UNAUTHORIZED, "session ended")

    def deliver(self, message: OrderBroadcast) -> None:
        text = message.encoded_frame()
        for subscriber in list(self._subscribers):
            if message.visible_to(subscriber.user):
                subscriber.offer_text(text)
