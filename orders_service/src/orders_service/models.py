"""Tables of the orders database: orders and the outbox of their events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow
from shared.events.outbox import OutboxMixin

CUSTOMER_MAX = 200


class OrderStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


def _status_type() -> Enum:
    return Enum(
        OrderStatus,
        name="order_status",
        native_enum=False,
        length=16,
        create_constraint=True,
        values_callable=lambda statuses: [s.value for s in statuses],
    )


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer: Mapped[str] = mapped_column(String(CUSTOMER_MAX))
    status: Mapped[OrderStatus] = mapped_column(_status_type(), index=True)
    # None: an anonymous order (the seed's open flow), visible to everyone.
    owner_id: Mapped[UUID | None] = mapped_column(Uuid, index=True)
    # Bumped by every status change; lets clients spot a concurrent change.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatusChange(Base):
    """An order's history: each status it has had, by the version it had it at, written
    with the change itself."""

    __tablename__ = "order_status_changes"

    order_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[OrderStatus] = mapped_column(_status_type())
    # Who made it; None: anonymous.
    actor_id: Mapped[UUID | None] = mapped_column(Uuid)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as a statement read or wrote it: a plain value, since building an ORM
    instance per row cost more CPU than the statement that returned it."""

    id: int
    customer: str
    status: OrderStatus
    owner_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
