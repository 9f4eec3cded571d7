"""add per-user inbox positions and their cursors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing notifications are numbered per user in arrival (id) order.
_BACKFILL_POSITIONS = """
UPDATE notifications SET position = ranked.position
FROM (
    SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS position
    FROM notifications
) AS ranked
WHERE notifications.id = ranked.id
"""
_BACKFILL_CURSORS = """
INSERT INTO user_inbox_cursors (user_id, last_position)
SELECT user_id, max(position) FROM notifications GROUP BY user_id
"""


def upgrade() -> None:
    op.create_table(
        "user_inbox_cursors",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_inbox_cursors")),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("position", sa.BigInteger(), nullable=True))
    op.execute(_BACKFILL_POSITIONS)
    op.execute(_BACKFILL_CURSORS)
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("position", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint(
            op.f("uq_notifications_user_id_position"), ["user_id", "position"]
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f("uq_notifications_user_id_position"), type_="unique")
        batch.drop_column("position")
    op.drop_table("user_inbox_cursors")
