"""SQL over the orders table."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from orders_service.models import Order, OrderStatus
from shared.db import utcnow


@dataclass(frozen=True)
class Visibility:
    """Which orders a caller sees: anonymous ones, their own, or (superusers) all."""

    user_id: UUID | None
    everything: bool = False

    def condition(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        if self.user_id is None:
            return Order.owner_id.is_(None)
        return or_(Order.owner_id.is_(None), Order.owner_id == self.user_id)

    def allows(self, order: Order) -> bool:
        return self.everything or order.owner_id is None or order.owner_id == self.user_id


async def insert(session: AsyncSession, *, customer: str, owner_id: UUID | None) -> Order:
    now = utcnow()
    order = Order(
        customer=customer,
        status=OrderStatus.CREATED,
        owner_id=owner_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    return order


async def get(session: AsyncSession, order_id: int, *, for_update: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    if for_update and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def set_status(
    session: AsyncSession, *, order_id: int, expected: OrderStatus, target: OrderStatus
) -> Order | None:
    """Move the order from ``expected`` to ``target``; None if its status is no longer
    ``expected`` (another transaction got there first)."""
    statement = (
        update(Order)
        .where(Order.id == order_id, Order.status == expected)
        .values(status=target, version=Order.version + 1, updated_at=utcnow())
        .returning(Order)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return (await session.scalars(statement)).one_or_none()


async def page(
    session: AsyncSession,
    *,
    visibility: Visibility,
    status: OrderStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[Order], int]:
    conditions = [visibility.condition()]
    if status is not None:
        conditions.append(Order.status == status)
    total = await session.scalar(select(func.count()).select_from(Order).where(*conditions))
    rows = await session.scalars(
        select(Order).where(*conditions).order_by(Order.id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)
