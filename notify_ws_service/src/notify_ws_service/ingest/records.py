"""Reading a ``notification.send`` record: the seed 004 shape, strictly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.kafka import InvalidRecord


class NotificationRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: UUID
    delivery_method: str
    user_id: UUID
    subject: str = Field(max_length=1000)
    content: str = Field(max_length=16_000)

    @field_validator("subject", "content")
    @classmethod
    def _storable(cls, value: str) -> str:
        # PostgreSQL text cannot hold NUL: such a record would fail its batch's insert
        # on every retry and stall the consumer, so it is refused like any bad field.
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value


@dataclass(frozen=True)
class NewNotification:
    """What goes into an inbox, whatever the source."""

    message_id: UUID
    user_id: UUID
    title: str
    body: str
    type: str = "notification"


DELIVERY_METHODS: tuple[Literal["push"]] = ("push",)


def parse_notification(value: bytes | None, *, max_bytes: int) -> NewNotification:
    """The notification a record asks for, or :class:`InvalidRecord` saying why not."""
    if value is None:
        raise InvalidRecord("empty")
    if len(value) > max_bytes:
        raise InvalidRecord("oversized", f"{len(value)} bytes")
    try:
        body = json.loads(value)
    except (ValueError, RecursionError) as exc:
        # RecursionError: nested deeper than the parser goes (it escaped and stalled the
        # consumer); UnicodeDecodeError is a ValueError.
        raise InvalidRecord("not_json") from exc
    if not isinstance(body, dict):
        raise InvalidRecord("not_an_object")
    try:
        record = NotificationRecord.model_validate(body)
    except ValidationError as exc:
        # Which fields and why, not their values (the record is in the dead letter; a
        # message may still quote the one character it stumbled on).
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False)
        )
        raise InvalidRecord("invalid_fields", problems) from exc
    if record.delivery_method not in DELIVERY_METHODS:
        raise InvalidRecord("unknown_delivery_method", f"not one of: {', '.join(DELIVERY_METHODS)}")
    return NewNotification(
        message_id=record.message_id,
        user_id=record.user_id,
        title=record.subject,
        body=record.content,
    )
