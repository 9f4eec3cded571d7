"""Order rules: creation, visibility, status transitions and their events.

Functions here flush, never commit: the caller owns the transaction, so an order and
its outbox event are committed (or rolled back) together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orders_service.errors import InvalidTransition, OrderNotFound
from orders_service.models import Order, OrderStatus, OutboxEvent
from orders_service.orders import repository
from orders_service.orders.repository import Visibility
from orders_service.orders.transitions import can_change
from shared.auth.tokens import TokenClaims
from shared.events.outbox import record_event

ORDER_CREATED = "order.created"
ORDER_STATUS_CHANGED = "order.status_changed"

Actor = TokenClaims | None
# A status check that lost a race re-reads the order; past this many the caller retries.
_MAX_ATTEMPTS = 5


def visibility(actor: Actor) -> Visibility:
    if actor is None:
        return Visibility(user_id=None)
    return Visibility(user_id=actor.user_id, everything=actor.is_superuser)


def event_data(order: Order, *, previous: OrderStatus | None) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "customer": order.customer,
        "status": order.status.value,
        "previous_status": None if previous is None else previous.value,
        "owner_id": None if order.owner_id is None else str(order.owner_id),
    }


async def create_order(session: AsyncSession, *, customer: str, actor: Actor, topic: str) -> Order:
    order = await repository.insert(
        session, customer=customer, owner_id=None if actor is None else actor.user_id
    )
    record_event(
        session,
        OutboxEvent,
        topic=topic,
        key=str(order.id),
        type=ORDER_CREATED,
        data=event_data(order, previous=None),
        actor_id=None if actor is None else actor.user_id,
    )
    return order


async def get_order(session: AsyncSession, *, order_id: int, actor: Actor) -> Order:
    order = await repository.get(session, order_id)
    if order is None or not visibility(actor).allows(order):
        raise OrderNotFound()
    return order


async def list_orders(
    session: AsyncSession,
    *,
    actor: Actor,
    status: OrderStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[Order], int]:
    return await repository.page(
        session, visibility=visibility(actor), status=status, limit=limit, offset=offset
    )


async def change_status(
    session: AsyncSession, *, order_id: int, target: OrderStatus, actor: Actor, topic: str
) -> tuple[Order, OrderStatus]:
    """Apply one transition; returns the order and its previous status.

    The row is locked (PostgreSQL) and the UPDATE is conditional on the status that was
    checked, so of many concurrent changes exactly one takes each step and the others
    see the status it left behind.
    """
    for _ in range(_MAX_ATTEMPTS):
        order = await repository.get(session, order_id, for_update=True)
        if order is None or not visibility(actor).allows(order):
            raise OrderNotFound()
        previous = order.status
        if not can_change(previous, target):
            raise InvalidTransition(previous.value, target.value)
        updated = await repository.set_status(
            session, order_id=order_id, expected=previous, target=target
        )
        if updated is not None:
            record_event(
                session,
                OutboxEvent,
                topic=topic,
                key=str(updated.id),
                type=ORDER_STATUS_CHANGED,
                data=event_data(updated, previous=previous),
                actor_id=None if actor is None else actor.user_id,
            )
            return updated, previous
    raise InvalidTransition(previous.value, target.value)
