"""Errors of the gateway's REST API."""

from __future__ import annotations

from shared.errors import NotFound


class NotificationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such notification in your inbox")
