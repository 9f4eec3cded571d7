"""What the inbox REST API reads and returns."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from notify_ws_service.database import as_utc
from notify_ws_service.models import Notification


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="The notification's message_id")
    type: str
    created_at: datetime
    title: str
    body: str
    delivered_at: datetime | None
    read_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationRead:
        return cls(
            id=row.message_id,
            type=row.type,
            created_at=as_utc(row.created_at),
            title=row.title,
            body=row.body,
            delivered_at=as_utc(row.delivered_at) if row.delivered_at else None,
            read_at=as_utc(row.read_at) if row.read_at else None,
        )


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    next_cursor: int | None = Field(
        description="Pass as ?cursor= for older notifications; null on the last page"
    )


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    updated: int


class DeliveryStatus(BaseModel):
    """What a sender can learn about one notification: stored, delivered, read."""

    message_id: UUID
    user_id: UUID
    stored_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None
