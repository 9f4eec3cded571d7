"""Add messages.reply_to_seq: the message a message answers.

Revision ID: 1261cfb10a2c
Revises: f7dfe3b43879
Create Date: 2026-12-02 16:31:22.661182+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1261cfb10a2c"
down_revision: str | None = "f7dfe3b43879"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("reply_to_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "reply_to_seq")
