"""Add messages.pinned_at and pinned_by: messages pinned to their chat.

Revision ID: 63e674017ea3
Revises: 5c0f9e7d2a41
Create Date: 2026-12-02 18:29:37.718496+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "63e674017ea3"
down_revision: str | None = "5c0f9e7d2a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED = sa.text("pinned_at IS NOT NULL")


def upgrade() -> None:
    op.add_column("messages", sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("pinned_by", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_messages_pinned",
        "messages",
        ["chat_id", "pinned_at"],
        postgresql_where=PINNED,
        sqlite_where=PINNED,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_pinned", table_name="messages")
    op.drop_column("messages", "pinned_by")
    op.drop_column("messages", "pinned_at")
