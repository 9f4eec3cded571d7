"""The sockets of this instance, and delivery of broadcasts to those allowed to see them."""

from __future__ import annotations

from typing import Protocol

from orders_service.broadcast.messages import OrderBroadcast
from shared.auth.tokens import TokenClaims


class Subscriber(Protocol):
    @property
    def user(self) -> TokenClaims | None: ...

    def offer_text(self, text: str) -> None:
        """Queue an encoded frame without waiting."""


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def add(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)

    def discard(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def __len__(self) -> int:
        return len(self._subscribers)

    def deliver(self, message: OrderBroadcast) -> None:
        text = message.encoded_frame()
        for subscriber in list(self._subscribers):
            if message.visible_to(subscriber.user):
                subscriber.offer_text(text)
