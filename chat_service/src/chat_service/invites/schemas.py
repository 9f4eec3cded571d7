"""Invite shapes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from chat_service.schemas import InputSchema, Schema


class InviteCreate(InputSchema):
    expires_in_seconds: int | None = Field(
        default=None, ge=60, le=30 * 24 * 3600, description="Default: seven days."
    )
    max_uses: int | None = Field(default=None, ge=1, le=10000, description="Default: unlimited.")


class InviteRead(Schema):
    token: str
    chat_id: UUID
    url: str = Field(description="Share it; whoever opens it while logged in may join.")
    expires_at: datetime
    max_uses: int | None
    uses: int


class InviteList(Schema):
    chat_id: UUID
    items: list[InviteRead] = Field(
        description="Live invites (not expired, not used up), newest first"
    )


class InvitePreview(Schema):
    token: str
    chat_id: UUID
    chat_name: str
    member_count: int
    expires_at: datetime
