"""Add order_status_changes: each order's status history.

Orders that exist already get one entry, their status at the upgrade (as of their last
change, by nobody known): the steps before it were not kept.

Revision ID: 3282074df447
Revises: 0001_create_orders
Create Date: 2026-12-02 18:40:50.394207
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3282074df447"
down_revision: str | None = "0001_create_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("created", "paid", "shipped", "delivered", "cancelled")


def upgrade() -> None:
    op.create_table(
        "order_status_changes",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES,
                name="order_status",
                native_enum=False,
                length=16,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_status_changes_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "version", name=op.f("pk_order_status_changes")),
    )
    op.execute(
        "INSERT INTO order_status_changes (order_id, version, status, actor_id, changed_at)"
        " SELECT id, version, status, NULL, updated_at FROM orders"
    )


def downgrade() -> None:
    op.drop_table("order_status_changes")
