"""What the outside world sees of an attachment."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from chat_service.models import Attachment
from chat_service.schemas import Schema, UtcDateTime

# Files one message may carry.
PER_MESSAGE_MAX = 10


def download_path(attachment_id: UUID | str) -> str:
    return f"/api/v1/attachments/{attachment_id}"


def summary_of(attachment: Attachment) -> dict[str, Any]:
    """What a message keeps of an attachment (JSON)."""
    return {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


class AttachmentRead(Schema):
    id: UUID
    filename: str
    content_type: str = Field(examples=["image/png"])
    size: int = Field(description="Bytes.")
    url: str = Field(description="Where members download it (with their token).")

    @classmethod
    def of(cls, summary: dict[str, Any]) -> AttachmentRead:
        """From the summary a message keeps of each of its attachments."""
        return cls(**summary, url=download_path(summary["id"]))


class Upload(AttachmentRead):
    chat_id: UUID
    sha256: str
    created_at: UtcDateTime
    sent: bool = Field(description="A message carries it already.")

    @classmethod
    def of_row(cls, attachment: Attachment) -> Upload:
        return cls(
            **summary_of(attachment),
            url=download_path(attachment.id),
            chat_id=attachment.chat_id,
            sha256=attachment.sha256,
            created_at=attachment.created_at,
            sent=attachment.message_id is not None,
        )
