"""Message shapes, shared by REST, the WebSocket protocols and the AsyncAPI document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Self
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from chat_service.attachments.schemas import PER_MESSAGE_MAX, AttachmentRead
from chat_service.models import CLIENT_MESSAGE_ID_MAX, REACTION_MAX, Message
from chat_service.schemas import InputSchema, Schema, UtcDateTime
from shared.db import MAX_SAFE_INTEGER, NO_NUL

TEXT_MAX = 4000
PAGE_MAX = 200
SEARCH_MAX = 200
SEARCH_DESCRIPTION = "Only messages whose text contains this, in any case."
# Distinct reactions one member may put on one message.
REACTIONS_PER_USER = 20
# An emoji, or any short key: no spaces, control or direction-changing characters, and
# no "/" (a key must fit in a URL path segment).
EMOJI_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f/\u202a-\u202e\u2066-\u2069]+$"
Emoji = Annotated[
    str,
    StringConstraints(min_length=1, max_length=REACTION_MAX, pattern=EMOJI_PATTERN),
]


def not_a_boolean(cls: object, value: object) -> object:
    """JSON's false is not seq 0 (pydantic would take it as one); 3.0 still is 3."""
    if isinstance(value, bool):
        raise ValueError("a seq is an integer, not a boolean")
    return value


class MessageCreate(InputSchema):
    # The rule below, in the schema: text, attachments or both.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"minLength": 1}}},
                {"required": ["attachment_ids"], "properties": {"attachment_ids": {"minItems": 1}}},
            ]
        }
    )

    text: str = Field(
        default="",
        max_length=TEXT_MAX,
        pattern=NO_NUL,
        description="May be empty when the message carries attachments.",
        examples=["Hello world!"],
    )
    client_message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=CLIENT_MESSAGE_ID_MAX,
        description="Your id for this message: a retry with the same id returns the "
        "original instead of sending twice.",
        examples=["5b0c6f0e-2f0b-4d7e-a0a4-3c1f7f0e2a11"],
    )
    reply_to_seq: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SAFE_INTEGER,
        description="The seq of the message in this chat that this one answers.",
    )
    attachment_ids: list[UUID] = Field(
        default_factory=list,
        max_length=PER_MESSAGE_MAX,
        json_schema_extra={"uniqueItems": True},
        description="Files you uploaded to this chat (`POST /api/v1/chats/{chat_id}/"
        "attachments`) and have not sent yet.",
    )

    _reply_not_a_boolean = field_validator("reply_to_seq", mode="before")(not_a_boolean)

    @model_validator(mode="after")
    def _text_or_files(self) -> Self:
        if not self.text and not self.attachment_ids:
            raise ValueError("a message needs text, attachments or both")
        if len(set(self.attachment_ids)) < len(self.attachment_ids):
            raise ValueError("an attachment is named twice")
        return self


class MessageUpdate(InputSchema):
    text: str = Field(min_length=1, max_length=TEXT_MAX, pattern=NO_NUL)


class ReactionCount(Schema):
    emoji: str = Field(examples=["👍"])
    count: int
    user_ids: list[UUID] = Field(description="Who reacted so, first first.")


class MessageRead(Schema):
    id: UUID
    chat_id: UUID
    seq: int
    sender_id: UUID
    client_message_id: str
    text: str
    created_at: UtcDateTime
    edited_at: UtcDateTime | None
    deleted: bool
    is_read: bool = Field(description="Every member of the chat has read this message.")
    reply_to_seq: int | None = Field(
        default=None, description="The seq of the message this one answers."
    )
    attachments: list[AttachmentRead] = Field(default_factory=list)
    reactions: list[ReactionCount] = Field(
        default_factory=list,
        description="In history pages and replies; live changes arrive as reaction events.",
    )
    pinned_at: UtcDateTime | None = Field(default=None, description="When it was pinned.")
    pinned_by: UUID | None = Field(default=None, description="Who pinned it.")

    @classmethod
    def of(
        cls, message: Message, *, read_seq: int, reactions: Sequence[ReactionCount] = ()
    ) -> MessageRead:
        """``read_seq``: the chat's lowest member read position."""
        return cls(
            id=message.id,
            chat_id=message.chat_id,
            seq=message.seq,
            sender_id=message.sender_id,
            client_message_id=message.client_message_id,
            text=message.text,
            created_at=message.created_at,
            edited_at=message.edited_at,
            deleted=message.deleted,
            is_read=message.seq <= read_seq,
            reply_to_seq=message.reply_to_seq,
            attachments=[AttachmentRead.of(a) for a in message.attachments or ()],
            reactions=list(reactions),
            pinned_at=message.pinned_at,
            pinned_by=message.pinned_by,
        )


class PinnedMessages(Schema):
    chat_id: UUID
    items: list[MessageRead] = Field(description="The chat's pinned messages, newest pin first.")


class MessagePage(Schema):
    items: list[MessageRead]
    has_more: bool = Field(description="More messages lie beyond this page in its direction.")
    last_seq: int = Field(description="The chat's newest seq.")
    read_seq: int = Field(description="Every member has read up to this seq.")


class ReadMark(InputSchema):
    seq: int = Field(
        ge=0, le=MAX_SAFE_INTEGER, description="Everything up to this seq has been read."
    )

    _seq_not_a_boolean = field_validator("seq", mode="before")(not_a_boolean)


class ReadState(Schema):
    chat_id: UUID
    user_id: UUID
    last_read_seq: int
    unread_count: int
    read_seq: int = Field(description="Every member has read up to this seq.")


class MessageReactions(Schema):
    message_id: UUID
    reactions: list[ReactionCount]


class SendResult(Schema):
    message: MessageRead
    duplicate: bool = Field(description="The client_message_id was seen before: the original.")
