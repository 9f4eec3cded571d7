"""Chat shapes, shared by REST, the WebSocket protocols and the AsyncAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from pydantic import Field, field_validator

from chat_service.messages.schemas import MessageRead
from chat_service.models import MUTED_FOREVER, NAME_MAX, ChatType, Role
from chat_service.schemas import InputSchema, Schema, UtcDateTime

MEMBERS_PER_REQUEST = 1000


class ChatCreate(InputSchema):
    name: str = Field(min_length=1, max_length=NAME_MAX, examples=["TestChat3"])
    member_ids: list[UUID] = Field(
        default_factory=list,
        max_length=MEMBERS_PER_REQUEST,
        description="Who joins besides you. One other person makes a private chat; "
        "more (or none) a group.",
    )


class ChatUpdate(InputSchema):
    name: str = Field(min_length=1, max_length=NAME_MAX)


class OwnerChange(InputSchema):
    user_id: UUID = Field(description="A member of the chat, to be its owner.")


class MuteChange(InputSchema):
    until: UtcDateTime | None = Field(
        default=None,
        description="When notifications resume; left out or null: not until you unmute "
        "the chat. A moment already past mutes nothing (clients' clocks differ).",
    )

    @field_validator("until", mode="before")
    @classmethod
    def _a_date_time_string(cls, value: object) -> object:
        # Pydantic would read a number as a Unix time; the schema says a date-time string.
        if value is not None and not isinstance(value, str):
            raise ValueError("a date-time string (RFC 3339)")
        return value

    @field_validator("until")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC (SQLite would drop another offset); no later than for good."""
        if value is None:
            return None
        try:
            return min(value.astimezone(UTC), MUTED_FOREVER)
        except OverflowError:  # past year 9999 once in UTC
            return MUTED_FOREVER


class ChatMute(Schema):
    chat_id: UUID
    muted: bool
    muted_until: UtcDateTime | None = Field(
        description="When a muted chat's notifications resume; null: never by themselves."
    )


class MembersAdd(InputSchema):
    user_ids: list[UUID] = Field(min_length=1, max_length=MEMBERS_PER_REQUEST)


class MemberRead(Schema):
    user_id: UUID
    role: Role
    display_name: str
    last_read_seq: int
    joined_at: UtcDateTime


class ChatRead(Schema):
    id: UUID
    name: str
    type: ChatType
    owner_id: UUID
    created_at: UtcDateTime
    last_seq: int
    members: list[MemberRead]


class ChatSummary(Schema):
    id: UUID
    name: str
    type: ChatType
    owner_id: UUID
    created_at: UtcDateTime
    updated_at: UtcDateTime
    last_seq: int
    member_count: int
    last_read_seq: int = Field(description="Your read position.")
    unread_count: int = Field(description="Messages of others after your read position.")
    muted: bool = Field(description="You get no notifications of its messages.")
    muted_until: UtcDateTime | None = Field(description="When your mute ends; null: never.")
    last_message: MessageRead | None


class ChatList(Schema):
    items: list[ChatSummary]
    has_more: bool


class ChatPresence(Schema):
    chat_id: UUID
    online: list[UUID] = Field(description="Members with a chat socket open, in joining order.")
