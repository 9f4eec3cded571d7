"""The inbox: every notification of a user, stored before its Kafka offset is committed."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id"),
        UniqueConstraint("user_id", "position"),
    )

    # Arrival order across every inbox: what REST paging follows.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    message_id: Mapped[UUID] = mapped_column(Uuid, unique=True)
    user_id: Mapped[UUID] = mapped_column(Uuid)
    # The place in its user's inbox: 1, 2, 3... with no gap, and a higher one commits
    # only after every lower one (see :class:`InboxCursor`). Sockets deliver in this
    # order and ``?since=`` replays from it.
    position: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64), default="notification")
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InboxCursor(Base):
    """The last position handed out in a user's inbox. Storing locks the row until the
    commit, so instances storing for one user at once take their turns."""

    __tablename__ = "user_inbox_cursors"

    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    last_position: Mapped[int] = mapped_column(BigInteger)
