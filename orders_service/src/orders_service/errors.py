"""The orders service's errors; REST and the socket map them in one place each."""

from __future__ import annotations

from shared.errors import BadRequest, Conflict, InvalidToken, NotFound, ServiceUnavailable


class OrderNotFound(NotFound):
    """Also what an order owned by someone else looks like: its existence is not revealed."""

    def __init__(self) -> None:
        super().__init__("order not found")


class InvalidTransition(Conflict):
    def __init__(self, current: str, target: str) -> None:
        # The seed's exact wording.
        super().__init__(f"Cannot change status from '{current}' to '{target}'")
        self.current = current
        self.target = target


class AuthUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("auth_service unavailable, try again later")


__all__ = [
    "AuthUnavailable",
    "BadRequest",
    "InvalidToken",
    "InvalidTransition",
    "OrderNotFound",
]
