"""Add chat_members.muted_until: a member's mute of the chat's notifications.

Revision ID: 5c0f9e7d2a41
Revises: 1261cfb10a2c
Create Date: 2026-12-02 18:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c0f9e7d2a41"
down_revision: str | None = "1261cfb10a2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "chat_members", sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("chat_members", "muted_until")
