"""The chat database: chats, their members (with read positions), messages, their
attachments, invites.

Read state is one number per member (``last_read_seq``), never a row per member and
message: a message is read by everyone once the lowest read position reaches its seq.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow
from shared.events.outbox import OutboxMixin

NAME_MAX = 200
CLIENT_MESSAGE_ID_MAX = 64
FILENAME_MAX = 255
REACTION_MAX = 32
# A mute with no end, stored as a date (one column; the API shows it as no date).
MUTED_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (CheckConstraint("type IN ('private', 'group')", name="type"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[UUID] = mapped_column(Uuid)
    # The seq of the newest message; incremented under the row lock, so gap-free.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Creation or last message: the order of a user's chat list.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Member(Base):
    __tablename__ = "chat_members"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'member')", name="role"),
        Index("ix_chat_members_user_id", "user_id"),
    )

    chat_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)
    # Cached from the member's own token claims; users live in auth_service.
    display_name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The member gets no notification of the chat's messages until then (MUTED_FOREVER:
    # until they unmute it); None or past: not muted.
    muted_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        # The idempotency key: a retry or a parallel duplicate finds the original.
        UniqueConstraint("chat_id", "sender_id", "client_message_id"),
        # A chat's pins are listed without reading its history.
        Index(
            "ix_messages_pinned",
            "chat_id",
            "pinned_at",
            postgresql_where=text("pinned_at IS NOT NULL"),
            sqlite_where=text("pinned_at IS NOT NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    chat_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("chats.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[UUID] = mapped_column(Uuid)
    client_message_id: Mapped[str] = mapped_column(String(CLIENT_MESSAGE_ID_MAX))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Deleted messages keep their seq (history stays gap-free) and lose their text.
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Pinned to the chat by a member (deleting the message unpins it).
    pinned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pinned_by: Mapped[UUID | None] = mapped_column(Uuid)
    # The message this one answers, by its seq in the chat (which never changes).
    reply_to_seq: Mapped[int | None] = mapped_column(BigInteger)
    # What the message's attachments are (id, filename, content_type, size), copied from
    # their rows so that history is read without them; None for none.
    attachments: Mapped[list[dict[str, object]] | None] = mapped_column(JSON(none_as_null=True))


class Reaction(Base):
    """A member's reaction (an emoji, or any short key, as Matrix has it) to a message."""

    __tablename__ = "reactions"

    message_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    emoji: Mapped[str] = mapped_column(String(REACTION_MAX), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attachment(Base):
    """An uploaded file: first the uploader's alone, then part of the message that
    names it. It goes with its message (deleted) or its chat."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_uploader_id", "uploader_id", "message_id"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    chat_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("chats.id", ondelete="CASCADE"), index=True
    )
    uploader_id: Mapped[UUID] = mapped_column(Uuid)
    message_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Loaded only to be downloaded.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Invite(Base):
    __tablename__ = "invites"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("chats.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"
