"""What the outside world sees of a user."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from auth_service.database import as_utc
from auth_service.models import AVATAR_URL_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH

DisplayName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=DISPLAY_NAME_MAX_LENGTH,
        # No control characters: names end up in chat lists, logs and notifications.
        pattern=r"^[^\x00-\x1f\x7f]+$",
    ),
]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserRead(Schema):
    """Another user, as anyone signed in may see them."""

    id: UUID
    email: str = Field(examples=["testuser1@testuser1.com"])
    display_name: str = Field(examples=["TestUser1"])
    avatar_url: str | None = Field(default=None, examples=["https://example.com/me.png"])


class UserMe(UserRead):
    """The caller's own account."""

    is_superuser: bool
    is_active: bool
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class UserUpdate(BaseModel):
    """Fields to change; absent fields stay as they are, ``avatar_url: null`` clears it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"display_name": "Ada", "avatar_url": "https://example.com/ada.png"}]
        },
    )

    display_name: DisplayName | None = None
    avatar_url: Annotated[AnyHttpUrl, Field(max_length=AVATAR_URL_MAX_LENGTH)] | None = None


class UserPage(BaseModel):
    items: list[UserRead]
    total: int = Field(description="Matches in all, not just on this page")
    limit: int
    offset: int
