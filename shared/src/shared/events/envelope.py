"""The envelope every domain event travels in (``chat.events``, ``orders.events``, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field

from shared.db import utcnow


class EventEnvelope(BaseModel):
    event_id: UUID = Field(default_factory=uuid4)
    type: str = Field(examples=["chat.message_created"])
    occurred_at: datetime = Field(default_factory=utcnow)
    actor_id: UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def encode(self) -> bytes:
        return self.model_dump_json().encode()
